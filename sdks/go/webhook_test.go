package herald

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

type signatureVectors struct {
	StandardWebhooks []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
		Valid     bool   `json:"valid"`
	} `json:"standardWebhooks"`
	WhatsappHubSignature256 []struct {
		Name      string `json:"name"`
		AppSecret string `json:"appSecret"`
		Body      string `json:"body"`
		Header    string `json:"header"`
		Valid     bool   `json:"valid"`
	} `json:"whatsappHubSignature256"`
}

func loadVectors(t *testing.T) signatureVectors {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "vectors", "signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v signatureVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.StandardWebhooks) == 0 || len(v.WhatsappHubSignature256) == 0 {
		t.Fatal("the vectors file has no standardWebhooks or whatsappHubSignature256 vectors")
	}
	return v
}

func webhookHeaders(id, timestamp, signature string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", timestamp)
	h.Set("webhook-signature", signature)
	return h
}

func TestStandardWebhooksVectors(t *testing.T) {
	for _, v := range loadVectors(t).StandardWebhooks {
		t.Run(v.Name, func(t *testing.T) {
			headers := webhookHeaders(v.ID, strconv.FormatInt(v.Timestamp, 10), v.Signature)
			// The clock set to the vector's time, with the default tolerance.
			_, err := verifyWebhookAt(time.Unix(v.Timestamp, 0), []byte(v.Payload), headers, []string{v.Secret}, 0)
			if v.Valid && err != nil {
				t.Fatalf("a valid vector was refused: %v", err)
			}
			if !v.Valid && !errors.Is(err, ErrSignature) {
				t.Fatalf("an invalid vector answered %v, want ErrSignature", err)
			}
			// The public function with the tolerance check off.
			_, err = VerifyWebhook([]byte(v.Payload), headers, []string{v.Secret}, -1)
			if (err == nil) != v.Valid {
				t.Fatalf("VerifyWebhook with the tolerance off: err = %v, valid = %v", err, v.Valid)
			}
		})
	}
}

func TestMetaSignatureVectors(t *testing.T) {
	for _, v := range loadVectors(t).WhatsappHubSignature256 {
		t.Run(v.Name, func(t *testing.T) {
			err := VerifyMetaSignature([]byte(v.Body), v.Header, v.AppSecret)
			if v.Valid && err != nil {
				t.Fatalf("a valid vector was refused: %v", err)
			}
			if !v.Valid && !errors.Is(err, ErrSignature) {
				t.Fatalf("an invalid vector answered %v, want ErrSignature", err)
			}
		})
	}
}

func TestMetaSignatureMalformed(t *testing.T) {
	v := loadVectors(t).WhatsappHubSignature256[0]
	for _, header := range []string{"", "sha1=abc", "sha256=zz", v.Header[len("sha256="):]} {
		if err := VerifyMetaSignature([]byte(v.Body), header, v.AppSecret); !errors.Is(err, ErrSignature) {
			t.Errorf("header %q: err = %v, want ErrSignature", header, err)
		}
	}
	if err := VerifyMetaSignature([]byte(v.Body), v.Header, ""); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("an empty app secret: err = %v, want ErrInvalidSecret", err)
	}
}

const testSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

func sign(t *testing.T, secret, id, timestamp string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerifyWebhookFreshRequests(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"sms_opt_out","createdAt":"2026-11-27T10:00:00Z","organizationId":"org_1",` +
		`"data":{"phoneNumber":"+2348067000111","action":"added","source":"inbound","occurredAt":"2026-11-27T10:00:00Z"}}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	rotated := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	event, err := VerifyWebhook(body, webhookHeaders("evt_1", now, sign(t, testSecret, "evt_1", now, body)), []string{testSecret}, 0)
	if err != nil {
		t.Fatalf("a fresh request was refused: %v", err)
	}
	optOut, err := event.OptOut()
	if err != nil || event.ID != "evt_1" || optOut.PhoneNumber != "+2348067000111" || optOut.Action != "added" {
		t.Fatalf("event = %+v, opt-out = %+v, err = %v", event, optOut, err)
	}
	if _, err := event.SMS(); err == nil {
		t.Fatal("an sms_opt_out event decoded as an SMS")
	}

	twoSignatures := sign(t, rotated, "evt_1", now, body) + " " + sign(t, testSecret, "evt_1", now, body)
	if _, err := VerifyWebhook(body, webhookHeaders("evt_1", now, twoSignatures), []string{testSecret}, 0); err != nil {
		t.Errorf("two signatures, the second matching: %v", err)
	}
	if _, err := VerifyWebhook(body, webhookHeaders("evt_1", now, sign(t, testSecret, "evt_1", now, body)), []string{rotated, testSecret}, 0); err != nil {
		t.Errorf("two secrets, the second matching: %v", err)
	}

	cases := []struct {
		name    string
		headers http.Header
		secrets []string
		want    error
	}{
		{"stale", webhookHeaders("evt_1", strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10), ""), []string{testSecret}, ErrTimestamp},
		{"future", webhookHeaders("evt_1", strconv.FormatInt(time.Now().Add(6*time.Minute).Unix(), 10), ""), []string{testSecret}, ErrTimestamp},
		{"malformed timestamp", webhookHeaders("evt_1", "12e4", "v1,x"), []string{testSecret}, ErrTimestamp},
		{"another id", webhookHeaders("evt_2", now, sign(t, testSecret, "evt_1", now, body)), []string{testSecret}, ErrSignature},
		{"wrong secret", webhookHeaders("evt_1", now, sign(t, testSecret, "evt_1", now, body)), []string{rotated}, ErrSignature},
		{"no signature header", webhookHeaders("evt_1", now, ""), []string{testSecret}, ErrMissingHeaders},
		{"no secret", webhookHeaders("evt_1", now, "v1,x"), nil, ErrInvalidSecret},
		{"empty secret", webhookHeaders("evt_1", now, "v1,x"), []string{""}, ErrInvalidSecret},
		{"secret without whsec_", webhookHeaders("evt_1", now, "v1,x"), []string{"C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}, ErrInvalidSecret},
		{"secret not base64", webhookHeaders("evt_1", now, "v1,x"), []string{"whsec_***"}, ErrInvalidSecret},
	}
	for _, c := range cases {
		if c.name == "stale" || c.name == "future" {
			ts := c.headers.Get("webhook-timestamp")
			c.headers.Set("webhook-signature", sign(t, testSecret, "evt_1", ts, body))
		}
		if _, err := VerifyWebhook(body, c.headers, c.secrets, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}
