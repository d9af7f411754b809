// Command parity runs the shared parity scenarios (sdks/parity/scenarios.json) against a live
// Herald with this SDK's public API, printing "ok <name>" or "FAIL <name>: <why>" per scenario.
//
//	HERALD_BASE_URL=… HERALD_API_KEY=… HERALD_SESSION_TOKEN=… HERALD_SMS_SENDER_ID=… go run ./internal/parity
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	herald "github.com/herald-dev/herald/sdks/go"
)

type scenarioFile struct {
	Scenarios []json.RawMessage `json:"scenarios"`
}

type runner struct {
	baseURL, apiKey, sessionToken, senderID, run string
	client                                       *herald.Client
}

var scenarios = map[string]func(context.Context, *runner, json.RawMessage) error{
	"key_check":                  keyCheck,
	"send_each_channel":          sendEachChannel,
	"idempotent_resend":          idempotentResend,
	"batch":                      batch,
	"list_filters_and_paging":    listFiltersAndPaging,
	"cancel_scheduled":           cancelScheduled,
	"errors_by_code":             errorsByCode,
	"email_stats_and_sender_ids": emailStatsAndSenderIDs,
	"webhook_delivery_verified":  webhookDeliveryVerified,
}

func main() {
	r := &runner{
		baseURL:      os.Getenv("HERALD_BASE_URL"),
		apiKey:       os.Getenv("HERALD_API_KEY"),
		sessionToken: os.Getenv("HERALD_SESSION_TOKEN"),
		senderID:     os.Getenv("HERALD_SMS_SENDER_ID"),
		run:          "go-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	path := os.Getenv("HERALD_SDK_PARITY")
	if path == "" {
		path = "../parity/scenarios.json"
	}
	if r.baseURL == "" || r.apiKey == "" || r.sessionToken == "" || r.senderID == "" {
		fmt.Fprintln(os.Stderr, "parity: set HERALD_BASE_URL, HERALD_API_KEY, HERALD_SESSION_TOKEN and HERALD_SMS_SENDER_ID")
		os.Exit(2)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parity:", err)
		os.Exit(2)
	}
	text := strings.NewReplacer(
		"$RUN", r.run,
		"$SMS_SENDER_ID", r.senderID,
		"$IN_1H", time.Now().UTC().Add(time.Hour).Format(time.RFC3339),
	).Replace(string(raw))
	var file scenarioFile
	if err := json.Unmarshal([]byte(text), &file); err != nil || len(file.Scenarios) == 0 {
		fmt.Fprintln(os.Stderr, "parity: no scenarios in", path, err)
		os.Exit(2)
	}
	r.client = herald.NewClient(r.apiKey, herald.WithBaseURL(r.baseURL))

	failed := 0
	for _, scenario := range file.Scenarios {
		var head struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(scenario, &head)
		run, ok := scenarios[head.Name]
		if !ok {
			err = errors.New("this runner does not know the scenario")
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			err = run(ctx, r, scenario)
			cancel()
		}
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", head.Name, err)
		} else {
			fmt.Printf("ok %s\n", head.Name)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func keyCheck(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		Expect struct {
			Scopes []string `json:"scopes"`
		} `json:"expect"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	key, err := r.client.Key(ctx)
	if err != nil {
		return err
	}
	if !sameSet(key.Scopes, s.Expect.Scopes) {
		return fmt.Errorf("scopes %v, want %v", key.Scopes, s.Expect.Scopes)
	}
	if !strings.HasPrefix(r.apiKey, key.Prefix) || key.ID == "" || key.OrganizationID == "" {
		return fmt.Errorf("key %+v does not describe the presented key", key)
	}
	return nil
}

// tracked is what the scenarios need of a message of any channel.
type tracked struct {
	id, status, externalID string
	failed                 bool
}

func send(ctx context.Context, c *herald.Client, channel string, body json.RawMessage, opts ...herald.RequestOption) (tracked, error) {
	switch channel {
	case "sms":
		var p herald.SendSMSParams
		if err := json.Unmarshal(body, &p); err != nil {
			return tracked{}, err
		}
		m, err := c.SMS.Send(ctx, p, opts...)
		if err != nil {
			return tracked{}, err
		}
		return tracked{m.ID, m.Status, m.ExternalID, m.Error != nil}, nil
	case "email":
		var p herald.SendEmailParams
		if err := json.Unmarshal(body, &p); err != nil {
			return tracked{}, err
		}
		m, err := c.Emails.Send(ctx, p, opts...)
		if err != nil {
			return tracked{}, err
		}
		return tracked{m.ID, m.Status, m.ExternalID, m.Error != nil}, nil
	case "whatsapp":
		var p herald.SendWhatsAppParams
		if err := json.Unmarshal(body, &p); err != nil {
			return tracked{}, err
		}
		m, err := c.WhatsApp.Send(ctx, p, opts...)
		if err != nil {
			return tracked{}, err
		}
		return tracked{m.ID, m.Status, m.ExternalID, m.Error != nil}, nil
	}
	return tracked{}, fmt.Errorf("unknown channel %q", channel)
}

func get(ctx context.Context, c *herald.Client, channel, id string) (tracked, error) {
	switch channel {
	case "sms":
		m, err := c.SMS.Get(ctx, id)
		if err != nil {
			return tracked{}, err
		}
		return tracked{m.ID, m.Status, m.ExternalID, m.Error != nil}, nil
	case "email":
		m, err := c.Emails.Get(ctx, id)
		if err != nil {
			return tracked{}, err
		}
		return tracked{m.ID, m.Status, m.ExternalID, m.Error != nil}, nil
	case "whatsapp":
		m, err := c.WhatsApp.Get(ctx, id)
		if err != nil {
			return tracked{}, err
		}
		return tracked{m.ID, m.Status, m.ExternalID, m.Error != nil}, nil
	}
	return tracked{}, fmt.Errorf("unknown channel %q", channel)
}

func timelineTypes(ctx context.Context, c *herald.Client, channel, id string) ([]string, error) {
	var entries []herald.TimelineEntry
	var err error
	switch channel {
	case "sms":
		entries, err = c.SMS.Timeline(ctx, id)
	case "email":
		entries, err = c.Emails.Timeline(ctx, id)
	case "whatsapp":
		entries, err = c.WhatsApp.Timeline(ctx, id)
	default:
		err = fmt.Errorf("unknown channel %q", channel)
	}
	types := make([]string, 0, len(entries))
	for _, e := range entries {
		types = append(types, e.Type)
	}
	return types, err
}

func sendEachChannel(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		Sends []struct {
			Channel      string          `json:"channel"`
			Body         json.RawMessage `json:"body"`
			Final        string          `json:"final"`
			Timeline     []string        `json:"timeline"`
			ErrorPresent bool            `json:"errorPresent"`
		} `json:"sends"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	ids := make([]string, len(s.Sends))
	for i, want := range s.Sends {
		m, err := send(ctx, r.client, want.Channel, want.Body)
		if err != nil {
			return fmt.Errorf("%s send: %w", want.Channel, err)
		}
		if m.status != herald.StatusQueued {
			return fmt.Errorf("%s send answered %s, want QUEUED", want.Channel, m.status)
		}
		ids[i] = m.id
	}
	for i, want := range s.Sends {
		deadline := time.Now().Add(30 * time.Second)
		var m tracked
		for {
			var err error
			if m, err = get(ctx, r.client, want.Channel, ids[i]); err != nil {
				return err
			}
			if m.status == want.Final || time.Now().After(deadline) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if m.status != want.Final {
			return fmt.Errorf("%s %s is %s after 30 s, want %s", want.Channel, m.id, m.status, want.Final)
		}
		if want.ErrorPresent && !m.failed {
			return fmt.Errorf("%s %s is %s without an error", want.Channel, m.id, m.status)
		}
		if len(want.Timeline) == 0 {
			continue
		}
		types, err := timelineTypes(ctx, r.client, want.Channel, ids[i])
		if err != nil {
			return err
		}
		if got := only(types, want.Timeline); strings.Join(got, " ") != strings.Join(want.Timeline, " ") {
			return fmt.Errorf("%s %s timeline %v, want %v in this order", want.Channel, m.id, types, want.Timeline)
		}
	}
	return nil
}

func idempotentResend(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		Channel        string          `json:"channel"`
		IdempotencyKey string          `json:"idempotencyKey"`
		Body           json.RawMessage `json:"body"`
		OtherBody      json.RawMessage `json:"otherBody"`
		ExpectOther    expectedError   `json:"expectOther"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	key := herald.WithIdempotencyKey(s.IdempotencyKey)
	first, err := send(ctx, r.client, s.Channel, s.Body, key)
	if err != nil {
		return err
	}
	again, err := send(ctx, r.client, s.Channel, s.Body, key)
	if err != nil {
		return err
	}
	if again.id != first.id {
		return fmt.Errorf("the same key gave two messages: %s and %s", first.id, again.id)
	}
	_, err = send(ctx, r.client, s.Channel, s.OtherBody, key)
	if err := s.ExpectOther.check(err); err != nil {
		return fmt.Errorf("another body with the key: %w", err)
	}
	unkeyed := map[string]bool{}
	for i := 0; i < 2; i++ {
		m, err := send(ctx, r.client, s.Channel, s.Body)
		if err != nil {
			return fmt.Errorf("a send without a key: %w", err)
		}
		unkeyed[m.id] = true
	}
	if len(unkeyed) != 2 || unkeyed[first.id] {
		return fmt.Errorf("two sends without a key gave %v", unkeyed)
	}
	page, err := r.client.SMS.List(ctx, herald.ListSMSParams{ListParams: herald.ListParams{Query: first.externalID}})
	if err != nil {
		return err
	}
	if page.Total != 3 {
		return fmt.Errorf("%d messages carry %s, want 3 (one per distinct send)", page.Total, first.externalID)
	}
	return nil
}

type expectedError struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

func (want expectedError) check(err error) error {
	var apiErr *herald.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("got %v, want a *herald.Error %d %s", err, want.Status, want.Code)
	}
	if apiErr.StatusCode != want.Status || apiErr.Code != want.Code {
		return fmt.Errorf("got %d %s, want %d %s", apiErr.StatusCode, apiErr.Code, want.Status, want.Code)
	}
	if apiErr.RequestID == "" || apiErr.Message == "" {
		return fmt.Errorf("the error %+v lacks its request id or message", apiErr)
	}
	if want.Field == "" {
		return nil
	}
	for _, d := range apiErr.Details {
		if d.Field == want.Field {
			return nil
		}
	}
	return fmt.Errorf("the details %+v do not name %s", apiErr.Details, want.Field)
}

func batch(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		Messages      []herald.SendSMSParams `json:"messages"`
		Invalid       []herald.SendSMSParams `json:"invalid"`
		ExpectInvalid expectedError          `json:"expectInvalid"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	msgs, err := r.client.SMS.Batch(ctx, s.Messages)
	if err != nil {
		return err
	}
	if len(msgs) != len(s.Messages) {
		return fmt.Errorf("a batch of %d answered %d messages", len(s.Messages), len(msgs))
	}
	for i, m := range msgs {
		if m.Status != herald.StatusQueued || m.ExternalID != s.Messages[i].ExternalID || m.To != s.Messages[i].To {
			return fmt.Errorf("batch item %d is %+v", i, m)
		}
	}
	before := time.Now().Add(-time.Second)
	_, err = r.client.SMS.Batch(ctx, s.Invalid)
	if err := s.ExpectInvalid.check(err); err != nil {
		return fmt.Errorf("the invalid batch: %w", err)
	}
	stored, err := r.client.SMS.List(ctx, herald.ListSMSParams{ListParams: herald.ListParams{
		Query: strings.TrimPrefix(s.Invalid[0].To, "+"), CreatedFrom: before,
	}})
	if err != nil {
		return err
	}
	if stored.Total != 0 {
		return fmt.Errorf("the refused batch stored %d messages", stored.Total)
	}
	return nil
}

func listFiltersAndPaging(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		OTP      int                  `json:"otp"`
		Standard int                  `json:"standard"`
		Body     herald.SendSMSParams `json:"body"`
		Filter   struct {
			Query string `json:"query"`
			Flow  string `json:"flow"`
		} `json:"filter"`
		PageSize    int `json:"pageSize"`
		ExpectTotal int `json:"expectTotal"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	var otp []string
	for i := 0; i < s.OTP+s.Standard; i++ {
		p := s.Body
		p.Flow = herald.FlowOTP
		if i >= s.OTP {
			p.Flow = herald.FlowStandard
		}
		m, err := r.client.SMS.Send(ctx, p)
		if err != nil {
			return err
		}
		if p.Flow == herald.FlowOTP {
			otp = append([]string{m.ID}, otp...) // newest first
		}
	}
	params := herald.ListSMSParams{Flow: s.Filter.Flow, ListParams: herald.ListParams{Query: s.Filter.Query, PageSize: s.PageSize}}
	page, err := r.client.SMS.List(ctx, params)
	if err != nil {
		return err
	}
	if page.Total != s.ExpectTotal || len(page.Data) != s.PageSize || page.PageSize != s.PageSize || page.Page != 1 {
		return fmt.Errorf("the first page has total %d, %d items, page %d of size %d", page.Total, len(page.Data), page.Page, page.PageSize)
	}
	var walked []string
	pager := r.client.SMS.ListAll(params)
	for pager.Next(ctx) {
		walked = append(walked, pager.Message().ID)
	}
	if err := pager.Err(); err != nil {
		return err
	}
	if strings.Join(walked, " ") != strings.Join(otp, " ") {
		return fmt.Errorf("the pager gave %v, want %v", walked, otp)
	}
	return nil
}

func cancelScheduled(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		Body        herald.SendSMSParams `json:"body"`
		ExpectAgain expectedError        `json:"expectAgain"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	m, err := r.client.SMS.Send(ctx, s.Body)
	if err != nil {
		return err
	}
	if m.ScheduledAt == nil || !m.ScheduledAt.Equal(*s.Body.ScheduledAt) {
		return fmt.Errorf("the message is scheduled at %v, want %v", m.ScheduledAt, s.Body.ScheduledAt)
	}
	canceled, err := r.client.SMS.Cancel(ctx, m.ID)
	if err != nil {
		return err
	}
	if canceled.Status != herald.StatusCanceled || canceled.ID != m.ID {
		return fmt.Errorf("cancel answered %s %s", canceled.ID, canceled.Status)
	}
	_, err = r.client.SMS.Cancel(ctx, m.ID)
	if err := s.ExpectAgain.check(err); err != nil {
		return fmt.Errorf("canceling again: %w", err)
	}
	return nil
}

func errorsByCode(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		Cases []struct {
			expectedError
			Call    string          `json:"call"`
			Channel string          `json:"channel"`
			Body    json.RawMessage `json:"body"`
			ID      string          `json:"id"`
			APIKey  string          `json:"apiKey"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	for i, c := range s.Cases {
		var err error
		switch c.Call {
		case "send":
			_, err = send(ctx, r.client, c.Channel, c.Body)
		case "get":
			_, err = get(ctx, r.client, c.Channel, c.ID)
		case "keyCheck":
			_, err = herald.NewClient(c.APIKey, herald.WithBaseURL(r.baseURL)).Key(ctx)
		default:
			return fmt.Errorf("case %d: unknown call %q", i, c.Call)
		}
		if err := c.check(err); err != nil {
			return fmt.Errorf("case %d (%s %s): %w", i, c.Call, c.Channel, err)
		}
	}
	return nil
}

func emailStatsAndSenderIDs(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		StatsDays int `json:"statsDays"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	today := time.Now().UTC()
	stats, err := r.client.Emails.Stats(ctx, herald.StatsParams{From: today.AddDate(0, 0, 1-s.StatsDays), To: today})
	if err != nil {
		return err
	}
	day := today.Format("2006-01-02")
	if stats.To != day || len(stats.Daily) != s.StatsDays || stats.Daily[len(stats.Daily)-1].Date != day {
		return fmt.Errorf("stats from %s to %s with %d days, want %d days ending %s", stats.From, stats.To, len(stats.Daily), s.StatsDays, day)
	}
	if stats.Totals.Queued < stats.Daily[0].Queued || stats.Totals.DeliveryRate < 0 || stats.Totals.DeliveryRate > 1 {
		return fmt.Errorf("totals %+v do not add up", stats.Totals)
	}
	senders, err := r.client.SMS.SenderIDs(ctx, 1, 100)
	if err != nil {
		return err
	}
	for _, id := range senders.Data {
		if strings.EqualFold(id.SenderID, r.senderID) && !id.ApprovedAt.IsZero() {
			return nil
		}
	}
	return fmt.Errorf("the approved sender IDs %+v lack %s", senders.Data, r.senderID)
}

type delivery struct {
	header http.Header
	body   []byte
}

func webhookDeliveryVerified(ctx context.Context, r *runner, raw json.RawMessage) error {
	var s struct {
		EventTypes []string             `json:"eventTypes"`
		Body       herald.SendSMSParams `json:"body"`
		ExpectType string               `json:"expectType"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	deliveries := make(chan delivery, 100)
	receiver := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		deliveries <- delivery{req.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = receiver.Serve(listener) }()
	defer receiver.Close()

	var endpoint struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	err = r.controlPlane(ctx, http.MethodPost, "/v1/webhook-endpoints", map[string]any{
		"url": "http://" + listener.Addr().String() + "/webhooks/herald", "eventTypes": s.EventTypes,
	}, http.StatusCreated, &endpoint)
	if err != nil {
		return err
	}
	defer func() {
		if err := r.controlPlane(context.Background(), http.MethodDelete, "/v1/webhook-endpoints/"+endpoint.ID, nil, http.StatusNoContent, nil); err != nil {
			fmt.Fprintln(os.Stderr, "parity: deleting the webhook endpoint:", err)
		}
	}()

	sent, err := r.client.SMS.Send(ctx, s.Body)
	if err != nil {
		return err
	}
	secrets := []string{endpoint.Secret}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case <-timeout:
			return fmt.Errorf("no %s delivery for %s within 30 s", s.ExpectType, sent.ID)
		case d := <-deliveries:
			event, err := herald.VerifyWebhook(d.body, d.header, secrets, 0)
			if err != nil {
				return fmt.Errorf("a genuine delivery was refused: %w", err)
			}
			msg, err := event.SMS()
			if err != nil {
				return err
			}
			if msg.ID != sent.ID {
				continue // another message of the organization
			}
			if event.Type != s.ExpectType || event.ID != d.header.Get("webhook-id") || msg.Status != herald.StatusDelivered {
				return fmt.Errorf("event %s %s carries %s %s", event.Type, event.ID, msg.ID, msg.Status)
			}
			return refusesTampering(d, secrets)
		}
	}
}

// refusesTampering checks that the delivery no longer verifies with one byte of its body changed,
// or with a timestamp outside the tolerance.
func refusesTampering(d delivery, secrets []string) error {
	changed := append([]byte(nil), d.body...)
	changed[len(changed)/2] ^= 0x01
	if _, err := herald.VerifyWebhook(changed, d.header, secrets, 0); !errors.Is(err, herald.ErrSignature) {
		return fmt.Errorf("a body changed by one byte: %v, want ErrSignature", err)
	}
	stale := d.header.Clone()
	stale.Set("webhook-timestamp", strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10))
	if _, err := herald.VerifyWebhook(d.body, stale, secrets, 0); !errors.Is(err, herald.ErrTimestamp) {
		return fmt.Errorf("a timestamp 10 minutes old: %v, want ErrTimestamp", err)
	}
	return nil
}

// controlPlane calls a session route, which the SDK does not cover.
func (r *runner) controlPlane(ctx context.Context, method, path string, body any, want int, out any) error {
	var payload io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(r.baseURL, "/")+path, payload)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.sessionToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

func sameSet(a, b []string) bool {
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// only keeps the items of list that are among keep, in order.
func only(list, keep []string) []string {
	wanted := map[string]bool{}
	for _, k := range keep {
		wanted[k] = true
	}
	var out []string
	for _, item := range list {
		if wanted[item] {
			out = append(out, item)
		}
	}
	return out
}
