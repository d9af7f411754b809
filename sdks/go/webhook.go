package herald

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTolerance is how far a webhook-timestamp may be from the clock, either way.
const DefaultWebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook and VerifyMetaSignature, for errors.Is. Answer a request that fails
// with a 400 (never a 410, which disables the endpoint).
var (
	// ErrInvalidSecret: a secret that is not "whsec_" and base64 (or an empty app secret).
	ErrInvalidSecret = errors.New("herald: webhook secret is malformed")
	// ErrMissingHeaders: webhook-id, webhook-timestamp or webhook-signature is missing.
	ErrMissingHeaders = errors.New("herald: webhook headers are missing")
	// ErrTimestamp: the webhook-timestamp is malformed or outside the tolerance.
	ErrTimestamp = errors.New("herald: webhook timestamp is malformed or outside the tolerance")
	// ErrSignature: no signature matches.
	ErrSignature = errors.New("herald: webhook signature does not match")
)

// Event is a customer webhook event. Data holds the message (for a message event) or the
// event's own data; read it with the accessor of the event's family.
type Event struct {
	// ID is the event id, the webhook-id header: the same on every retry. Deduplicate on it.
	ID string `json:"id"`
	// Type is "sms_delivered", "email_opened", "sms_opt_out", "webhook_test", …
	Type string `json:"type"`
	// CreatedAt is when the event happened.
	CreatedAt      time.Time       `json:"createdAt"`
	OrganizationID string          `json:"organizationId"`
	Data           json.RawMessage `json:"data"`
}

// OptOutData is the data of an sms_opt_out event.
type OptOutData struct {
	PhoneNumber string `json:"phoneNumber"`
	// Action is "added" or "removed".
	Action string `json:"action"`
	// Source is "inbound" (a STOP or START text) or "api".
	Source     string    `json:"source"`
	OccurredAt time.Time `json:"occurredAt"`
}

// WebhookTestData is the data of a webhook_test event.
type WebhookTestData struct {
	EndpointID string `json:"endpointId"`
	Message    string `json:"message"`
}

// SMS decodes the SMS of an sms_* status event.
func (e *Event) SMS() (*SMSMessage, error) {
	var m SMSMessage
	return &m, e.decode(strings.HasPrefix(e.Type, "sms_") && e.Type != "sms_opt_out", &m)
}

// Email decodes the email of an email_* event (status, open or click).
func (e *Event) Email() (*EmailMessage, error) {
	var m EmailMessage
	return &m, e.decode(strings.HasPrefix(e.Type, "email_"), &m)
}

// WhatsApp decodes the message of a whatsapp_* event.
func (e *Event) WhatsApp() (*WhatsAppMessage, error) {
	var m WhatsAppMessage
	return &m, e.decode(strings.HasPrefix(e.Type, "whatsapp_"), &m)
}

// OptOut decodes the data of an sms_opt_out event.
func (e *Event) OptOut() (*OptOutData, error) {
	var d OptOutData
	return &d, e.decode(e.Type == "sms_opt_out", &d)
}

// Test decodes the data of a webhook_test event.
func (e *Event) Test() (*WebhookTestData, error) {
	var d WebhookTestData
	return &d, e.decode(e.Type == "webhook_test", &d)
}

func (e *Event) decode(matches bool, out any) error {
	if !matches {
		return fmt.Errorf("herald: a %s event does not carry this data", e.Type)
	}
	return json.Unmarshal(e.Data, out)
}

// VerifyWebhook checks a Standard Webhooks request from Herald and returns its event.
//
// payload is the raw body as received; headers the request's headers; secrets the endpoint's
// "whsec_…" secrets (give two while rotating: any of them verifies). tolerance bounds the distance
// between webhook-timestamp and the clock (0 means DefaultWebhookTolerance; a negative tolerance
// turns the check off, for replaying stored requests only). Every signature is compared in
// constant time. Deliveries come at least once: deduplicate on the returned event's ID.
func VerifyWebhook(payload []byte, headers http.Header, secrets []string, tolerance time.Duration) (*Event, error) {
	return verifyWebhookAt(time.Now(), payload, headers, secrets, tolerance)
}

func verifyWebhookAt(now time.Time, payload []byte, headers http.Header, secrets []string, tolerance time.Duration) (*Event, error) {
	if len(secrets) == 0 {
		return nil, ErrInvalidSecret
	}
	keys := make([][]byte, 0, len(secrets))
	for _, secret := range secrets {
		key, err := signingKey(secret)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	id, timestamp, signatures := headers.Get("webhook-id"), headers.Get("webhook-timestamp"), headers.Get("webhook-signature")
	if id == "" || timestamp == "" || signatures == "" {
		return nil, ErrMissingHeaders
	}
	if len(timestamp) > 15 || strings.Trim(timestamp, "0123456789") != "" {
		return nil, ErrTimestamp
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return nil, ErrTimestamp
	}
	if tolerance == 0 {
		tolerance = DefaultWebhookTolerance
	}
	if d := now.Sub(time.Unix(seconds, 0)); tolerance > 0 && (d > tolerance || d < -tolerance) {
		return nil, ErrTimestamp
	}
	if !anySignatureMatches(keys, id+"."+timestamp+".", payload, strings.Fields(signatures)) {
		return nil, ErrSignature
	}
	var event Event
	if err := json.Unmarshal(payload, &event); err != nil {
		return nil, fmt.Errorf("herald: webhook body: %w", err)
	}
	return &event, nil
}

func signingKey(secret string) ([]byte, error) {
	if !strings.HasPrefix(secret, "whsec_") {
		return nil, ErrInvalidSecret
	}
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

func anySignatureMatches(keys [][]byte, prefix string, payload []byte, signatures []string) bool {
	matched := false
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(prefix))
		mac.Write(payload)
		expected := []byte("v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		for _, signature := range signatures {
			if hmac.Equal([]byte(signature), expected) {
				matched = true
			}
		}
	}
	return matched
}

// VerifyMetaSignature checks Meta's X-Hub-Signature-256 header ("sha256=<hex>") over the raw body
// of a WhatsApp Cloud API webhook, keyed with the app secret, in constant time.
func VerifyMetaSignature(payload []byte, signatureHeader string, appSecret string) error {
	if appSecret == "" {
		return ErrInvalidSecret
	}
	if !strings.HasPrefix(signatureHeader, "sha256=") {
		return ErrSignature
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signatureHeader, "sha256="))
	if err != nil {
		return ErrSignature
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrSignature
	}
	return nil
}
