// Package herald is the Go client of the Herald public API: transactional email, SMS and
// WhatsApp through one API.
//
// Create a client with an API key and call the channel services:
//
//	client := herald.NewClient(os.Getenv("HERALD_API_KEY"))
//	msg, err := client.SMS.Send(ctx, herald.SendSMSParams{To: "+2348067000111", Body: "Hi", SenderID: "Acme"})
//
// Every call takes a context.Context. Failed calls return a *herald.Error when the API answered
// (use errors.As), or the transport's error when it could not be reached. Sends and batches carry an
// Idempotency-Key, and 429, 5xx and connection failures are retried with exponential backoff.
package herald

import (
	"context"
	"math/rand"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Version is this SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

// DefaultBaseURL is the API's address when neither WithBaseURL nor the HERALD_BASE_URL
// environment variable gives one: `herald all` on this machine.
const DefaultBaseURL = "http://127.0.0.1:8080"

const (
	defaultTimeout     = 30 * time.Second
	defaultMaxRetries  = 3
	defaultBackoffBase = 500 * time.Millisecond
	maxBackoff         = 20 * time.Second
)

// Client calls the Herald public API. It is safe for concurrent use.
type Client struct {
	// SMS sends and reads SMS messages.
	SMS *SMSService
	// Emails sends and reads email messages.
	Emails *EmailService
	// WhatsApp sends and reads WhatsApp messages.
	WhatsApp *WhatsAppService

	apiKey      string
	baseURL     string
	httpClient  *http.Client
	timeout     time.Duration
	maxRetries  int
	backoffBase time.Duration

	jitterMu sync.Mutex
	jitter   *rand.Rand
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets the API's address, "https://herald.example.com" (default: HERALD_BASE_URL from
// the environment, else DefaultBaseURL).
func WithBaseURL(baseURL string) Option {
	return func(c *Client) { c.baseURL = strings.TrimRight(baseURL, "/") }
}

// WithHTTPClient sets the http.Client that carries the requests (default: a new http.Client).
func WithHTTPClient(httpClient *http.Client) Option {
	return func(c *Client) { c.httpClient = httpClient }
}

// WithTimeout bounds each attempt of a request, reading its answer included (default 30 s).
// The context given to a call bounds the whole call, retries included.
func WithTimeout(timeout time.Duration) Option {
	return func(c *Client) { c.timeout = timeout }
}

// WithMaxRetries sets how many times a request is retried after a 429, a 5xx or a connection
// failure (default 3; 0 disables retries).
func WithMaxRetries(maxRetries int) Option {
	return func(c *Client) {
		if maxRetries >= 0 {
			c.maxRetries = maxRetries
		}
	}
}

// NewClient returns a client that authenticates with apiKey (an "hk_…" key).
func NewClient(apiKey string, opts ...Option) *Client {
	c := &Client{
		apiKey:      apiKey,
		baseURL:     DefaultBaseURL,
		httpClient:  &http.Client{},
		timeout:     defaultTimeout,
		maxRetries:  defaultMaxRetries,
		backoffBase: defaultBackoffBase,
		jitter:      rand.New(rand.NewSource(time.Now().UnixNano())),
	}
	if env := os.Getenv("HERALD_BASE_URL"); env != "" {
		WithBaseURL(env)(c)
	}
	for _, opt := range opts {
		opt(c)
	}
	c.SMS = &SMSService{ch: channel[SMSMessage, SendSMSParams]{client: c, routes: smsRoutes}}
	c.Emails = &EmailService{ch: channel[EmailMessage, SendEmailParams]{client: c, routes: emailRoutes}}
	c.WhatsApp = &WhatsAppService{ch: channel[WhatsAppMessage, SendWhatsAppParams]{client: c, routes: whatsappRoutes}}
	return c
}

func userAgent() string {
	return "herald-go/" + Version
}

// Key describes the API key the client presents, to check the credentials and their scopes.
func (c *Client) Key(ctx context.Context) (*APIKey, error) {
	var key APIKey
	if err := c.do(ctx, request{route: keyRoute}, &key); err != nil {
		return nil, err
	}
	return &key, nil
}
