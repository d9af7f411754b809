package herald

import (
	"time"
)

// Message statuses. Each channel uses some of them: see the message types.
const (
	StatusQueued     = "QUEUED"
	StatusProcessing = "PROCESSING"
	StatusSent       = "SENT"
	StatusDelivered  = "DELIVERED"
	StatusRead       = "READ"
	StatusBounced    = "BOUNCED"
	StatusComplained = "COMPLAINED"
	StatusFailed     = "FAILED"
	StatusCanceled   = "CANCELED"
)

// SMS flows.
const (
	FlowOTP      = "OTP"
	FlowStandard = "STANDARD"
)

// MessageError says why a message failed.
type MessageError struct {
	// Code is the provider's or Herald's code: "META_131026", "PROVIDER_REJECTED", "UNDELIV".
	Code string `json:"code"`
	// Message is what the provider said.
	Message string `json:"message"`
}

// SendSMSParams is the body of an SMS send, and of each item of an SMS batch.
type SendSMSParams struct {
	// To is the recipient, E.164 with the leading +.
	To string `json:"to"`
	// Body is the text, 1 to 1,600 characters.
	Body string `json:"body"`
	// SenderID must be approved for the organization.
	SenderID string `json:"senderId"`
	// Flow is FlowOTP or FlowStandard (the default).
	Flow string `json:"flow,omitempty"`
	// ExternalID is yours to find the message by.
	ExternalID string `json:"externalId,omitempty"`
	// ScheduledAt sends it later: not in the past, at most 30 days ahead.
	ScheduledAt *time.Time `json:"scheduledAt,omitempty"`
}

// SMSMessage is an SMS as the API returns it, and as sms_* webhook events carry it.
type SMSMessage struct {
	ID                string        `json:"id"`
	Channel           string        `json:"channel"`
	Status            string        `json:"status"`
	To                string        `json:"to"`
	ExternalID        string        `json:"externalId"`
	ProviderMessageID string        `json:"providerMessageId"`
	Error             *MessageError `json:"error"`
	CreatedAt         time.Time     `json:"createdAt"`
	UpdatedAt         time.Time     `json:"updatedAt"`
	ScheduledAt       *time.Time    `json:"scheduledAt"`
	SenderID          string        `json:"senderId"`
	Flow              string        `json:"flow"`
	Body              string        `json:"body"`
	// Segments is how many SMS parts the text takes.
	Segments int `json:"segments"`
	// Encoding is GSM7 or UCS2.
	Encoding string `json:"encoding"`
}

// Attachment is a file attached to an email being sent.
type Attachment struct {
	Filename string `json:"filename"`
	// Content is the file's content, base64.
	Content     string `json:"content"`
	ContentType string `json:"contentType"`
}

// AttachmentInfo is an attachment as a message shows it, without its content.
type AttachmentInfo struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	// Size is the decoded size in bytes.
	Size int64 `json:"size"`
}

// Tracking says whether an email's opens and clicks are tracked.
type Tracking struct {
	Opens  bool `json:"opens"`
	Clicks bool `json:"clicks"`
}

// SendEmailParams is the body of an email send, and of each item of an email batch. One of HTML
// or Text is required.
type SendEmailParams struct {
	// From is "addr" or "Name <addr>".
	From string `json:"from"`
	// To, Cc, Bcc: 50 recipients in all at most.
	To          []string          `json:"to"`
	Cc          []string          `json:"cc,omitempty"`
	Bcc         []string          `json:"bcc,omitempty"`
	ReplyTo     []string          `json:"replyTo,omitempty"`
	Subject     string            `json:"subject"`
	HTML        string            `json:"html,omitempty"`
	Text        string            `json:"text,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	ExternalID  string            `json:"externalId,omitempty"`
	ScheduledAt *time.Time        `json:"scheduledAt,omitempty"`
	Tracking    *Tracking         `json:"tracking,omitempty"`
}

// EmailMessage is an email as the API returns it, and as email_* webhook events carry it.
type EmailMessage struct {
	ID                string            `json:"id"`
	Channel           string            `json:"channel"`
	Status            string            `json:"status"`
	To                []string          `json:"to"`
	ExternalID        string            `json:"externalId"`
	ProviderMessageID string            `json:"providerMessageId"`
	Error             *MessageError     `json:"error"`
	CreatedAt         time.Time         `json:"createdAt"`
	UpdatedAt         time.Time         `json:"updatedAt"`
	ScheduledAt       *time.Time        `json:"scheduledAt"`
	From              string            `json:"from"`
	Cc                []string          `json:"cc"`
	Bcc               []string          `json:"bcc"`
	ReplyTo           []string          `json:"replyTo"`
	Subject           string            `json:"subject"`
	HTML              string            `json:"html"`
	Text              string            `json:"text"`
	Headers           map[string]string `json:"headers"`
	Tags              map[string]string `json:"tags"`
	Attachments       []AttachmentInfo  `json:"attachments"`
	Tracking          Tracking          `json:"tracking"`
	// Opens and Clicks count the hits so far; OpenedAt and ClickedAt are the first.
	Opens     int        `json:"opens"`
	Clicks    int        `json:"clicks"`
	OpenedAt  *time.Time `json:"openedAt"`
	ClickedAt *time.Time `json:"clickedAt"`
}

// WhatsAppText is the content of a text message.
type WhatsAppText struct {
	// Body is 1 to 4,096 characters.
	Body string `json:"body"`
	// PreviewURL shows a preview of the first link.
	PreviewURL bool `json:"previewUrl,omitempty"`
}

// WhatsAppTemplate is the content of a template message.
type WhatsAppTemplate struct {
	// Name is an approved template's name.
	Name string `json:"name"`
	// Language is its language code, "en_US".
	Language string `json:"language"`
	// Components are Meta's own components (header, body, buttons), passed through.
	Components []map[string]any `json:"components,omitempty"`
}

// SendWhatsAppParams is the body of a WhatsApp send, and of each item of a WhatsApp batch.
type SendWhatsAppParams struct {
	// To is the recipient, E.164 with the leading +.
	To string `json:"to"`
	// Type is "text" (with Text) or "template" (with Template).
	Type        string            `json:"type"`
	Text        *WhatsAppText     `json:"text,omitempty"`
	Template    *WhatsAppTemplate `json:"template,omitempty"`
	ExternalID  string            `json:"externalId,omitempty"`
	ScheduledAt *time.Time        `json:"scheduledAt,omitempty"`
}

// WhatsAppMessage is a WhatsApp message as the API returns it, and as whatsapp_* webhook events
// carry it.
type WhatsAppMessage struct {
	ID                string            `json:"id"`
	Channel           string            `json:"channel"`
	Status            string            `json:"status"`
	To                string            `json:"to"`
	ExternalID        string            `json:"externalId"`
	ProviderMessageID string            `json:"providerMessageId"`
	Error             *MessageError     `json:"error"`
	CreatedAt         time.Time         `json:"createdAt"`
	UpdatedAt         time.Time         `json:"updatedAt"`
	ScheduledAt       *time.Time        `json:"scheduledAt"`
	Type              string            `json:"type"`
	Text              *WhatsAppText     `json:"text"`
	Template          *WhatsAppTemplate `json:"template"`
}

// Page is one page of a list, newest first.
type Page[T any] struct {
	Data []T `json:"data"`
	// Page is this page's number, from 1.
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	// Total counts the items matching the filters over all pages.
	Total int `json:"total"`
}

// TimelineEntry is one entry of a message's timeline.
type TimelineEntry struct {
	ID string `json:"id"`
	// Type is a status change's event type ("sms_delivered"), or provider_response,
	// receipt_ignored, note, email_opened, email_clicked.
	Type string `json:"type"`
	// Status is the status a status change moved the message to; empty otherwise.
	Status     string         `json:"status"`
	OccurredAt time.Time      `json:"occurredAt"`
	Detail     map[string]any `json:"detail"`
}

type timeline struct {
	Data []TimelineEntry `json:"data"`
}

type batchRequest[P any] struct {
	Messages []P `json:"messages"`
}

type batchResponse[M any] struct {
	Data []M `json:"data"`
}

// EmailCounts counts messages once each, by what happened to them.
type EmailCounts struct {
	Queued     int64 `json:"queued"`
	Sent       int64 `json:"sent"`
	Delivered  int64 `json:"delivered"`
	Bounced    int64 `json:"bounced"`
	Complained int64 `json:"complained"`
	Failed     int64 `json:"failed"`
	Opened     int64 `json:"opened"`
	Clicked    int64 `json:"clicked"`
}

// EmailStatsTotals are the counts and rates (fractions 0..1) of a whole range: delivery and
// bounce over sent, open and click over delivered.
type EmailStatsTotals struct {
	EmailCounts
	DeliveryRate float64 `json:"deliveryRate"`
	BounceRate   float64 `json:"bounceRate"`
	OpenRate     float64 `json:"openRate"`
	ClickRate    float64 `json:"clickRate"`
}

// EmailStatsDay is one UTC day's counts.
type EmailStatsDay struct {
	EmailCounts
	// Date is the day, YYYY-MM-DD.
	Date string `json:"date"`
}

// EmailStats are the email statistics of a range of UTC days.
type EmailStats struct {
	// From and To are the range's first and last days, inclusive, YYYY-MM-DD.
	From   string           `json:"from"`
	To     string           `json:"to"`
	Totals EmailStatsTotals `json:"totals"`
	// Daily has each day of the range, oldest first.
	Daily []EmailStatsDay `json:"daily"`
}

// SenderID is a sender ID the organization may send SMS from.
type SenderID struct {
	SenderID   string    `json:"senderId"`
	ApprovedAt time.Time `json:"approvedAt"`
}

// APIKey describes the API key a client presents.
type APIKey struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Prefix         string   `json:"prefix"`
	Scopes         []string `json:"scopes"`
	OrganizationID string   `json:"organizationId"`
}
