package herald

import (
	"context"
	"net/url"
	"time"
)

// EmailService sends and reads email messages (API key scopes send:email and read:email).
type EmailService struct {
	ch channel[EmailMessage, SendEmailParams]
}

// Send queues one email and returns it QUEUED.
func (s *EmailService) Send(ctx context.Context, params SendEmailParams, opts ...RequestOption) (*EmailMessage, error) {
	return s.ch.send(ctx, params, opts)
}

// Batch queues up to 100 emails at once, all or nothing, and returns them in order.
func (s *EmailService) Batch(ctx context.Context, messages []SendEmailParams, opts ...RequestOption) ([]EmailMessage, error) {
	return s.ch.batch(ctx, messages, opts)
}

// List reads one page of emails, newest first.
func (s *EmailService) List(ctx context.Context, params ListParams) (*Page[EmailMessage], error) {
	return s.ch.list(ctx, params.values())
}

// ListAll walks every page of emails from params.Page on.
func (s *EmailService) ListAll(params ListParams) *Pager[EmailMessage] {
	return s.ch.listAll(params.Page, params.values())
}

// Get reads one email with its current status.
func (s *EmailService) Get(ctx context.Context, id string) (*EmailMessage, error) {
	return s.ch.get(ctx, id)
}

// Timeline reads every entry of an email's timeline, oldest first.
func (s *EmailService) Timeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	return s.ch.timeline(ctx, id)
}

// Cancel cancels an email still QUEUED (typically scheduled); otherwise the API answers 409 CONFLICT.
func (s *EmailService) Cancel(ctx context.Context, id string) (*EmailMessage, error) {
	return s.ch.cancel(ctx, id)
}

// StatsParams chooses the UTC days of the email statistics, both inclusive, at most 366 days.
// A zero From is 29 days before To; a zero To is today.
type StatsParams struct {
	From time.Time
	To   time.Time
}

// Stats reads the email statistics of a range of UTC days.
func (s *EmailService) Stats(ctx context.Context, params StatsParams) (*EmailStats, error) {
	q := url.Values{}
	if !params.From.IsZero() {
		q.Set("from", params.From.UTC().Format("2006-01-02"))
	}
	if !params.To.IsZero() {
		q.Set("to", params.To.UTC().Format("2006-01-02"))
	}
	var out EmailStats
	if err := s.ch.client.do(ctx, request{route: emailStatsRoute, query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
