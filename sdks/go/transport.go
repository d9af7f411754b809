package herald

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// RequestOption adjusts one call.
type RequestOption func(*requestOptions)

type requestOptions struct {
	idempotencyKey string
}

// WithIdempotencyKey sets the Idempotency-Key of a send or batch (1 to 255 characters). Without
// it the SDK makes a random one per call. Either way the key is the same on every retry of the
// call, so a retried send is never doubled; repeating a call with your own key returns the first
// answer.
func WithIdempotencyKey(key string) RequestOption {
	return func(o *requestOptions) { o.idempotencyKey = key }
}

// request is one API call: its route, query, JSON body and where its answer is decoded.
type request struct {
	route      route
	id         string
	query      url.Values
	body       any
	idempotent bool // a send or batch: carries an Idempotency-Key
	opts       []RequestOption
}

func (c *Client) do(ctx context.Context, req request, out any) error {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return fmt.Errorf("herald: encoding the request: %w", err)
		}
	}
	target := c.baseURL + req.route.expand(req.id)
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	header := http.Header{}
	header.Set("Authorization", "Bearer "+c.apiKey)
	header.Set("User-Agent", userAgent())
	header.Set("Accept", "application/json")
	if payload != nil {
		header.Set("Content-Type", "application/json")
	}
	if req.idempotent {
		var o requestOptions
		for _, opt := range req.opts {
			opt(&o)
		}
		if o.idempotencyKey == "" {
			o.idempotencyKey = newUUID()
		}
		header.Set("Idempotency-Key", o.idempotencyKey)
	}

	for attempt := 0; ; attempt++ {
		status, respHeader, body, err := c.attempt(ctx, req.route.method, target, header, payload)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt < c.maxRetries && c.wait(ctx, c.backoff(attempt)) {
				continue
			}
			return fmt.Errorf("herald: %s %s: %w", req.route.method, req.route.path, err)
		}
		if status >= 200 && status < 300 {
			if out == nil || len(body) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("herald: decoding the answer of %s %s: %w", req.route.method, req.route.path, err)
			}
			return nil
		}
		apiErr := newError(status, respHeader, body)
		if (status == http.StatusTooManyRequests || status >= 500) && attempt < c.maxRetries {
			delay, ok := retryAfter(respHeader)
			if !ok {
				delay = c.backoff(attempt)
			}
			if c.wait(ctx, delay) {
				continue
			}
		}
		return apiErr
	}
}

// attempt sends the request once and reads its whole answer within the client's timeout.
func (c *Client) attempt(ctx context.Context, method, target string, header http.Header, payload []byte) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	httpReq, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, nil, nil, err
	}
	httpReq.Header = header.Clone()
	resp, err := c.httpClient.Do(httpReq)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, data, nil
}

// backoff is the delay before retry number attempt+1: exponential, with jitter over its upper half.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffBase << attempt
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	c.jitterMu.Lock()
	defer c.jitterMu.Unlock()
	return d/2 + time.Duration(c.jitter.Int63n(int64(d/2)+1))
}

// wait sleeps for d unless ctx ends first or its deadline would pass before d; it reports whether
// the retry should go ahead.
func (c *Client) wait(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryAfter reads a Retry-After header given in seconds or as an HTTP date.
func retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := time.Until(at); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("herald: no randomness for an Idempotency-Key: " + err.Error()))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
