package herald

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorded is what the stand-in server saw of one request.
type recorded struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
}

// standIn is a real local HTTP server answering with answer(n, request) for its n-th request (from 0).
type standIn struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

func newStandIn(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *standIn {
	t.Helper()
	s := &standIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		s.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *standIn) seen() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

func (s *standIn) client(opts ...Option) *Client {
	c := NewClient("hk_test_key", append([]Option{WithBaseURL(s.URL + "/")}, opts...)...)
	c.backoffBase = time.Millisecond
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req-"+strconv.Itoa(status))
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

const queuedSMS = `{"id":"0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f70","channel":"sms","status":"QUEUED","to":"+2348067000111",` +
	`"externalId":null,"providerMessageId":null,"error":null,"createdAt":"2026-11-27T10:00:00Z",` +
	`"updatedAt":"2026-11-27T10:00:00Z","scheduledAt":null,"senderId":"Acme","flow":"OTP","body":"Your code is 123456",` +
	`"segments":1,"encoding":"GSM7"}`

var otpParams = SendSMSParams{To: "+2348067000111", Body: "Your code is 123456", SenderID: "Acme", Flow: FlowOTP}

func TestSendRetriesWithOneIdempotencyKey(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 2 {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"SERVICE_UNAVAILABLE","message":"try again"}}`)
			return
		}
		writeJSON(w, http.StatusAccepted, queuedSMS)
	})
	msg, err := server.client().SMS.Send(context.Background(), otpParams)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Status != StatusQueued || msg.Segments != 1 || msg.Flow != FlowOTP || msg.ExternalID != "" || msg.Error != nil {
		t.Fatalf("message = %+v", msg)
	}
	seen := server.seen()
	if len(seen) != 3 {
		t.Fatalf("the server saw %d requests, want 3", len(seen))
	}
	key := seen[0].header.Get("Idempotency-Key")
	if len(key) != 36 || key[14] != '4' {
		t.Fatalf("Idempotency-Key %q is not a random UUID", key)
	}
	for i, r := range seen {
		if r.method != http.MethodPost || r.path != "/v1/public/sms/send" {
			t.Errorf("request %d: %s %s", i, r.method, r.path)
		}
		if got := r.header.Get("Idempotency-Key"); got != key {
			t.Errorf("request %d: Idempotency-Key %q, want the first one %q", i, got, key)
		}
		if got := r.header.Get("Authorization"); got != "Bearer hk_test_key" {
			t.Errorf("request %d: Authorization %q", i, got)
		}
		if got := r.header.Get("User-Agent"); got != "herald-go/"+Version {
			t.Errorf("request %d: User-Agent %q", i, got)
		}
		if got := r.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, got)
		}
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil || body["to"] != "+2348067000111" || body["flow"] != "OTP" || len(body) != 4 {
			t.Errorf("request %d: body %s", i, r.body)
		}
	}

	if _, err := server.client().SMS.Send(context.Background(), otpParams); err != nil {
		t.Fatal(err)
	}
	if next := server.seen()[3].header.Get("Idempotency-Key"); next == key || next == "" {
		t.Errorf("a second send reused the key %q", next)
	}
}

func TestCallerIdempotencyKey(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			hijackAndClose(t, w)
			return
		}
		writeJSON(w, http.StatusAccepted, `{"data":[`+queuedSMS+`]}`)
	})
	msgs, err := server.client().SMS.Batch(context.Background(), []SendSMSParams{otpParams}, WithIdempotencyKey("order-1043"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].SenderID != "Acme" {
		t.Fatalf("batch = %+v", msgs)
	}
	seen := server.seen()
	if len(seen) != 2 {
		t.Fatalf("the server saw %d requests, want 2 (a connection failure, then the retry)", len(seen))
	}
	for _, r := range seen {
		if r.header.Get("Idempotency-Key") != "order-1043" || r.path != "/v1/public/sms/batch" {
			t.Errorf("%s with Idempotency-Key %q", r.path, r.header.Get("Idempotency-Key"))
		}
	}
	var body struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(seen[1].body, &body); err != nil || len(body.Messages) != 1 {
		t.Errorf("batch body %s", seen[1].body)
	}
}

func hijackAndClose(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

func TestRetryAfterIsHonoured(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RATE_LIMITED","message":"slow down"}}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"id":"k","name":"backend","prefix":"hk_7Qm2xT9a","scopes":["read:sms"],"organizationId":"o"}`)
	})
	start := time.Now()
	key, err := server.client().Key(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("retried after %v, before Retry-After's 1 s", elapsed)
	}
	if key.Name != "backend" || len(key.Scopes) != 1 || len(server.seen()) != 2 {
		t.Errorf("key = %+v after %d requests", key, len(server.seen()))
	}
}

func TestRetryAfterBeyondTheDeadlineGivesUp(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RATE_LIMITED","message":"slow down"}}`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := server.client().Key(ctx)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "RATE_LIMITED" {
		t.Fatalf("err = %v, want the 429", err)
	}
	if len(server.seen()) != 1 {
		t.Errorf("the server saw %d requests, want 1", len(server.seen()))
	}
}

func TestRetriesAreBounded(t *testing.T) {
	for _, retries := range []int{0, 2} {
		server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusInternalServerError, `{"error":{"code":"INTERNAL","message":"boom"}}`)
		})
		_, err := server.client(WithMaxRetries(retries)).Emails.Get(context.Background(), "m1")
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.RequestID != "req-500" {
			t.Fatalf("err = %v", err)
		}
		if got := len(server.seen()); got != retries+1 {
			t.Errorf("WithMaxRetries(%d): %d attempts", retries, got)
		}
	}
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusBadGateway, `<html>bad gateway</html>`)
	})
	_, err := server.client().WhatsApp.Timeline(context.Background(), "m1")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Code != "" || apiErr.Message != "Bad Gateway" {
		t.Fatalf("err = %#v", err)
	}
	if got := len(server.seen()); got != defaultMaxRetries+1 {
		t.Errorf("default retries: %d attempts, want %d", got, defaultMaxRetries+1)
	}
}

func TestTimeoutIsRetriedThenReported(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		writeJSON(w, http.StatusOK, `{}`)
	})
	_, err := server.client(WithTimeout(50*time.Millisecond), WithMaxRetries(1)).Key(context.Background())
	var apiErr *Error
	if err == nil || errors.As(err, &apiErr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a time-out", err)
	}
	if got := len(server.seen()); got != 2 {
		t.Errorf("%d attempts, want 2", got)
	}
}

func TestTypedErrorsAreNotRetried(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnprocessableEntity, `{"error":{"code":"VALIDATION_ERROR","message":"the request is not valid",`+
			`"details":[{"field":"messages[1].to","message":"must be E.164","code":"VALIDATION_ERROR"}]}}`)
	})
	_, err := server.client().SMS.Batch(context.Background(), []SendSMSParams{otpParams, otpParams})
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := Error{StatusCode: 422, Code: "VALIDATION_ERROR", Message: "the request is not valid", RequestID: "req-422",
		Details: []FieldError{{Field: "messages[1].to", Message: "must be E.164", Code: "VALIDATION_ERROR"}}}
	if fmt.Sprint(*apiErr) != fmt.Sprint(want) {
		t.Errorf("error = %+v, want %+v", *apiErr, want)
	}
	if got := apiErr.Error(); got != "herald: 422 VALIDATION_ERROR: the request is not valid; messages[1].to must be E.164 (request req-422)" {
		t.Errorf("Error() = %q", got)
	}
	if len(server.seen()) != 1 {
		t.Errorf("a 422 was retried: %d requests", len(server.seen()))
	}
}

func TestListQueryAndPager(t *testing.T) {
	ids := []string{"m5", "m4", "m3", "m2", "m1"}
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		var items []string
		for i := (page - 1) * size; i < page*size && i < len(ids); i++ {
			items = append(items, fmt.Sprintf(`{"id":%q,"channel":"sms","status":"DELIVERED","to":"+1","createdAt":"2026-11-27T10:00:00Z","updatedAt":"2026-11-27T10:00:00Z"}`, ids[i]))
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"data":[%s],"page":%d,"pageSize":%d,"total":%d}`, strings.Join(items, ","), page, size, len(ids)))
	})
	params := ListSMSParams{Flow: FlowOTP, ListParams: ListParams{
		Status: StatusDelivered, Query: "run-1", PageSize: 2,
		CreatedFrom: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), CreatedTo: time.Date(2026, 11, 30, 23, 59, 59, 0, time.FixedZone("WAT", 3600)),
	}}
	client := server.client()

	page, err := client.SMS.List(context.Background(), params)
	if err != nil || page.Total != 5 || len(page.Data) != 2 || page.Data[0].ID != "m5" {
		t.Fatalf("page = %+v, err = %v", page, err)
	}
	wantQuery := "createdFrom=2026-11-01T00%3A00%3A00Z&createdTo=2026-11-30T22%3A59%3A59Z&flow=OTP&pageSize=2&query=run-1&status=DELIVERED"
	if got := server.seen()[0].rawQuery; got != wantQuery {
		t.Errorf("query %q, want %q", got, wantQuery)
	}

	var got []string
	pager := client.SMS.ListAll(params)
	for pager.Next(context.Background()) {
		got = append(got, pager.Message().ID)
	}
	if pager.Err() != nil || fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("pager gave %v, err %v", got, pager.Err())
	}
	if n := len(server.seen()); n != 4 {
		t.Errorf("the pager made %d requests, want 3 after the List", n-1)
	}
	if pager.Next(context.Background()) {
		t.Error("Next after the end moved on")
	}
}

func TestPagerStopsOnError(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, `{"error":{"code":"INSUFFICIENT_SCOPE","message":"read:email is needed"}}`)
	})
	pager := server.client().Emails.ListAll(ListParams{})
	if pager.Next(context.Background()) {
		t.Fatal("Next moved on an error")
	}
	var apiErr *Error
	if !errors.As(pager.Err(), &apiErr) || apiErr.Code != "INSUFFICIENT_SCOPE" || server.seen()[0].rawQuery != "page=1" {
		t.Fatalf("err = %v, query %q", pager.Err(), server.seen()[0].rawQuery)
	}
}

func TestStatsSenderIDsCancelPaths(t *testing.T) {
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/public/emails/stats":
			writeJSON(w, http.StatusOK, `{"from":"2026-11-01","to":"2026-11-02","totals":{"queued":3,"sent":2,"delivered":2,"bounced":0,`+
				`"complained":0,"failed":1,"opened":1,"clicked":0,"deliveryRate":1.0,"bounceRate":0.0,"openRate":0.5,"clickRate":0.0},`+
				`"daily":[{"date":"2026-11-01","queued":3,"sent":2,"delivered":2,"bounced":0,"complained":0,"failed":1,"opened":1,"clicked":0}]}`)
		case "/v1/public/sms/sender-ids":
			writeJSON(w, http.StatusOK, `{"data":[{"senderId":"Acme","approvedAt":"2026-11-27T11:00:00Z"}],"page":1,"pageSize":20,"total":1}`)
		default:
			writeJSON(w, http.StatusConflict, `{"error":{"code":"CONFLICT","message":"only a QUEUED message can be canceled"}}`)
		}
	})
	client := server.client()
	stats, err := client.Emails.Stats(context.Background(), StatsParams{From: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil || stats.Totals.Queued != 3 || stats.Totals.OpenRate != 0.5 || len(stats.Daily) != 1 || stats.Daily[0].Date != "2026-11-01" || stats.Daily[0].Failed != 1 {
		t.Fatalf("stats = %+v, err = %v", stats, err)
	}
	senders, err := client.SMS.SenderIDs(context.Background(), 0, 0)
	if err != nil || len(senders.Data) != 1 || senders.Data[0].SenderID != "Acme" || senders.Data[0].ApprovedAt.Hour() != 11 {
		t.Fatalf("sender IDs = %+v, err = %v", senders, err)
	}
	_, err = client.WhatsApp.Cancel(context.Background(), "a/b")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || apiErr.Code != "CONFLICT" {
		t.Fatalf("cancel err = %v", err)
	}
	seen := server.seen()
	if seen[0].rawQuery != "from=2026-11-01&to=2026-11-02" || seen[1].rawQuery != "" {
		t.Errorf("queries %q, %q", seen[0].rawQuery, seen[1].rawQuery)
	}
	if seen[2].method != http.MethodPost || seen[2].path != "/v1/public/whatsapp/a%2Fb/cancel" || seen[2].header.Get("Idempotency-Key") != "" {
		t.Errorf("cancel: %s %s, Idempotency-Key %q", seen[2].method, seen[2].path, seen[2].header.Get("Idempotency-Key"))
	}
}
