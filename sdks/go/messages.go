package herald

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// ListParams filters and pages a message list. Zero fields are left out.
type ListParams struct {
	// Status keeps the messages in this status.
	Status string
	// Query keeps the messages whose recipient, content or externalId contains it.
	Query string
	// CreatedFrom and CreatedTo keep the messages created in this range, both inclusive.
	CreatedFrom time.Time
	CreatedTo   time.Time
	// Page is the page to read, from 1 (default 1); a Pager starts there.
	Page int
	// PageSize is 1 to 100 (default 20).
	PageSize int
}

// ListSMSParams filters and pages the SMS list.
type ListSMSParams struct {
	ListParams
	// Flow keeps the messages of this flow: FlowOTP or FlowStandard.
	Flow string
}

func (p ListParams) values() url.Values {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	if p.Query != "" {
		q.Set("query", p.Query)
	}
	if !p.CreatedFrom.IsZero() {
		q.Set("createdFrom", p.CreatedFrom.UTC().Format(time.RFC3339Nano))
	}
	if !p.CreatedTo.IsZero() {
		q.Set("createdTo", p.CreatedTo.UTC().Format(time.RFC3339Nano))
	}
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(p.PageSize))
	}
	return q
}

func (p ListSMSParams) values() url.Values {
	q := p.ListParams.values()
	if p.Flow != "" {
		q.Set("flow", p.Flow)
	}
	return q
}

// Pager walks every page of a list, one message at a time:
//
//	pager := client.SMS.ListAll(herald.ListSMSParams{Flow: herald.FlowOTP})
//	for pager.Next(ctx) {
//		msg := pager.Message()
//	}
//	if err := pager.Err(); err != nil { … }
type Pager[T any] struct {
	fetch   func(ctx context.Context, page int) (*Page[T], error)
	page    int
	items   []T
	index   int
	current T
	last    bool
	err     error
}

func newPager[T any](first int, fetch func(ctx context.Context, page int) (*Page[T], error)) *Pager[T] {
	if first < 1 {
		first = 1
	}
	return &Pager[T]{fetch: fetch, page: first}
}

// Next moves to the next message, reading the next page when needed; it returns false at the end
// of the list or on an error (see Err).
func (p *Pager[T]) Next(ctx context.Context) bool {
	for p.index >= len(p.items) {
		if p.last || p.err != nil {
			return false
		}
		page, err := p.fetch(ctx, p.page)
		if err != nil {
			p.err = err
			return false
		}
		p.items, p.index = page.Data, 0
		p.last = len(page.Data) == 0 || page.Page*page.PageSize >= page.Total
		p.page++
	}
	p.current = p.items[p.index]
	p.index++
	return true
}

// Message is the message Next moved to.
func (p *Pager[T]) Message() T {
	return p.current
}

// Err is the error that stopped Next, if any.
func (p *Pager[T]) Err() error {
	return p.err
}

// channel implements the six operations every channel shares.
type channel[M any, P any] struct {
	client *Client
	routes channelRoutes
}

func (ch channel[M, P]) send(ctx context.Context, params P, opts []RequestOption) (*M, error) {
	var msg M
	err := ch.client.do(ctx, request{route: ch.routes.send, body: params, idempotent: true, opts: opts}, &msg)
	if err != nil {
		return nil, err
	}
	return &msg, nil
}

func (ch channel[M, P]) batch(ctx context.Context, messages []P, opts []RequestOption) ([]M, error) {
	var out batchResponse[M]
	body := batchRequest[P]{Messages: messages}
	if err := ch.client.do(ctx, request{route: ch.routes.batch, body: body, idempotent: true, opts: opts}, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

func (ch channel[M, P]) list(ctx context.Context, query url.Values) (*Page[M], error) {
	var page Page[M]
	if err := ch.client.do(ctx, request{route: ch.routes.list, query: query}, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

func (ch channel[M, P]) listAll(first int, query url.Values) *Pager[M] {
	return newPager(first, func(ctx context.Context, page int) (*Page[M], error) {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(page))
		return ch.list(ctx, q)
	})
}

func (ch channel[M, P]) get(ctx context.Context, id string) (*M, error) {
	var msg M
	if err := ch.client.do(ctx, request{route: ch.routes.get, id: id}, &msg); err != nil {
		return nil, err
	}
	return &msg, nil
}

func (ch channel[M, P]) timeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	var out timeline
	if err := ch.client.do(ctx, request{route: ch.routes.timeline, id: id}, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

func (ch channel[M, P]) cancel(ctx context.Context, id string) (*M, error) {
	var msg M
	if err := ch.client.do(ctx, request{route: ch.routes.cancel, id: id}, &msg); err != nil {
		return nil, err
	}
	return &msg, nil
}
