package herald

import "context"

// WhatsAppService sends and reads WhatsApp messages (API key scopes send:whatsapp and
// read:whatsapp).
type WhatsAppService struct {
	ch channel[WhatsAppMessage, SendWhatsAppParams]
}

// Send queues one WhatsApp message and returns it QUEUED.
func (s *WhatsAppService) Send(ctx context.Context, params SendWhatsAppParams, opts ...RequestOption) (*WhatsAppMessage, error) {
	return s.ch.send(ctx, params, opts)
}

// Batch queues up to 100 WhatsApp messages at once, all or nothing, and returns them in order.
func (s *WhatsAppService) Batch(ctx context.Context, messages []SendWhatsAppParams, opts ...RequestOption) ([]WhatsAppMessage, error) {
	return s.ch.batch(ctx, messages, opts)
}

// List reads one page of WhatsApp messages, newest first.
func (s *WhatsAppService) List(ctx context.Context, params ListParams) (*Page[WhatsAppMessage], error) {
	return s.ch.list(ctx, params.values())
}

// ListAll walks every page of WhatsApp messages from params.Page on.
func (s *WhatsAppService) ListAll(params ListParams) *Pager[WhatsAppMessage] {
	return s.ch.listAll(params.Page, params.values())
}

// Get reads one WhatsApp message with its current status.
func (s *WhatsAppService) Get(ctx context.Context, id string) (*WhatsAppMessage, error) {
	return s.ch.get(ctx, id)
}

// Timeline reads every entry of a WhatsApp message's timeline, oldest first.
func (s *WhatsAppService) Timeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	return s.ch.timeline(ctx, id)
}

// Cancel cancels a WhatsApp message still QUEUED; otherwise the API answers 409 CONFLICT.
func (s *WhatsAppService) Cancel(ctx context.Context, id string) (*WhatsAppMessage, error) {
	return s.ch.cancel(ctx, id)
}
