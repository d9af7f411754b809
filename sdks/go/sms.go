package herald

import (
	"context"
	"net/url"
	"strconv"
)

// SMSService sends and reads SMS messages (API key scopes send:sms and read:sms).
type SMSService struct {
	ch channel[SMSMessage, SendSMSParams]
}

// Send queues one SMS and returns it QUEUED.
func (s *SMSService) Send(ctx context.Context, params SendSMSParams, opts ...RequestOption) (*SMSMessage, error) {
	return s.ch.send(ctx, params, opts)
}

// Batch queues up to 100 SMS at once, all or nothing, and returns them in order.
func (s *SMSService) Batch(ctx context.Context, messages []SendSMSParams, opts ...RequestOption) ([]SMSMessage, error) {
	return s.ch.batch(ctx, messages, opts)
}

// List reads one page of SMS messages, newest first.
func (s *SMSService) List(ctx context.Context, params ListSMSParams) (*Page[SMSMessage], error) {
	return s.ch.list(ctx, params.values())
}

// ListAll walks every page of SMS messages from params.Page on.
func (s *SMSService) ListAll(params ListSMSParams) *Pager[SMSMessage] {
	return s.ch.listAll(params.Page, params.values())
}

// Get reads one SMS with its current status.
func (s *SMSService) Get(ctx context.Context, id string) (*SMSMessage, error) {
	return s.ch.get(ctx, id)
}

// Timeline reads every entry of an SMS's timeline, oldest first.
func (s *SMSService) Timeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	return s.ch.timeline(ctx, id)
}

// Cancel cancels an SMS still QUEUED (typically scheduled); otherwise the API answers 409 CONFLICT.
func (s *SMSService) Cancel(ctx context.Context, id string) (*SMSMessage, error) {
	return s.ch.cancel(ctx, id)
}

// SenderIDs reads one page of the organization's approved sender IDs; page and pageSize 0 take
// the defaults.
func (s *SMSService) SenderIDs(ctx context.Context, page, pageSize int) (*Page[SenderID], error) {
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	var out Page[SenderID]
	if err := s.ch.client.do(ctx, request{route: senderIDsRoute, query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
