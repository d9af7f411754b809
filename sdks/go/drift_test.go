package herald

// The drift check: the SDK's models and operations against openapi/public.json, so that a change
// to the document fails these tests until the SDK follows it.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

type openAPISchema struct {
	Ref        string                    `json:"$ref"`
	Type       any                       `json:"type"`
	Properties map[string]*openAPISchema `json:"properties"`
	Required   []string                  `json:"required"`
	Items      *openAPISchema            `json:"items"`
	AllOf      []*openAPISchema          `json:"allOf"`
	OneOf      []*openAPISchema          `json:"oneOf"`
}

type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	RequestBody struct {
		Content map[string]struct {
			Schema openAPISchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type openAPIDocument struct {
	Paths      map[string]map[string]openAPIOperation `json:"paths"`
	Webhooks   map[string]map[string]openAPIOperation `json:"webhooks"`
	Components struct {
		Schemas map[string]*openAPISchema `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDocument {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "openapi", "public.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// modelOf is the Go type modelling each component schema.
var modelOf = map[string]reflect.Type{
	"ApprovedSenderId":     reflect.TypeOf(SenderID{}),
	"ApprovedSenderIdPage": reflect.TypeOf(Page[SenderID]{}),
	"Attachment":           reflect.TypeOf(Attachment{}),
	"AttachmentInfo":       reflect.TypeOf(AttachmentInfo{}),
	"CurrentKey":           reflect.TypeOf(APIKey{}),
	"EmailBatch":           reflect.TypeOf(batchResponse[EmailMessage]{}),
	"EmailBatchRequest":    reflect.TypeOf(batchRequest[SendEmailParams]{}),
	"EmailCounts":          reflect.TypeOf(EmailCounts{}),
	"EmailEvent":           reflect.TypeOf(Event{}),
	"EmailMessage":         reflect.TypeOf(EmailMessage{}),
	"EmailMessagePage":     reflect.TypeOf(Page[EmailMessage]{}),
	"EmailSend":            reflect.TypeOf(SendEmailParams{}),
	"EmailStats":           reflect.TypeOf(EmailStats{}),
	"EmailStatsDay":        reflect.TypeOf(EmailStatsDay{}),
	"EmailStatsTotals":     reflect.TypeOf(EmailStatsTotals{}),
	"ErrorBody":            reflect.TypeOf(errorBody{}),
	"ErrorDetail":          reflect.TypeOf(errorDetail{}),
	"FieldError":           reflect.TypeOf(FieldError{}),
	"MessageError":         reflect.TypeOf(MessageError{}),
	"SmsBatch":             reflect.TypeOf(batchResponse[SMSMessage]{}),
	"SmsBatchRequest":      reflect.TypeOf(batchRequest[SendSMSParams]{}),
	"SmsEvent":             reflect.TypeOf(Event{}),
	"SmsMessage":           reflect.TypeOf(SMSMessage{}),
	"SmsMessagePage":       reflect.TypeOf(Page[SMSMessage]{}),
	"SmsOptOutData":        reflect.TypeOf(OptOutData{}),
	"SmsOptOutEvent":       reflect.TypeOf(Event{}),
	"SmsSend":              reflect.TypeOf(SendSMSParams{}),
	"Timeline":             reflect.TypeOf(timeline{}),
	"TimelineEntry":        reflect.TypeOf(TimelineEntry{}),
	"Tracking":             reflect.TypeOf(Tracking{}),
	"WebhookTestData":      reflect.TypeOf(WebhookTestData{}),
	"WebhookTestEvent":     reflect.TypeOf(Event{}),
	"WhatsappBatch":        reflect.TypeOf(batchResponse[WhatsAppMessage]{}),
	"WhatsappBatchRequest": reflect.TypeOf(batchRequest[SendWhatsAppParams]{}),
	"WhatsappEvent":        reflect.TypeOf(Event{}),
	"WhatsappMessage":      reflect.TypeOf(WhatsAppMessage{}),
	"WhatsappMessagePage":  reflect.TypeOf(Page[WhatsAppMessage]{}),
	"WhatsappSend":         reflect.TypeOf(SendWhatsAppParams{}),
	"WhatsappTemplate":     reflect.TypeOf(WhatsAppTemplate{}),
	"WhatsappText":         reflect.TypeOf(WhatsAppText{}),
}

// notModelled are the schemas with no type of their own, and why.
var notModelled = map[string]string{
	"Recipients": "one address or a list: the SDK always sends a []string",
}

// requestSchemas are sent by the SDK: their optional fields must be omitted when empty.
var requestSchemas = []string{"SmsSend", "EmailSend", "WhatsappSend", "Attachment", "WhatsappText", "WhatsappTemplate"}

type jsonField struct {
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields lists a struct's JSON fields, those of embedded structs included.
func jsonFields(t reflect.Type) map[string]jsonField {
	fields := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			for name, inner := range jsonFields(f.Type) {
				fields[name] = inner
			}
			continue
		}
		tag := strings.Split(f.Tag.Get("json"), ",")
		if tag[0] == "" || tag[0] == "-" {
			continue
		}
		fields[tag[0]] = jsonField{f.Type, len(tag) > 1 && tag[1] == "omitempty"}
	}
	return fields
}

// properties resolves a schema's properties and required names through allOf.
func properties(doc openAPIDocument, s *openAPISchema) (map[string]*openAPISchema, map[string]bool) {
	props, required := map[string]*openAPISchema{}, map[string]bool{}
	for _, part := range s.AllOf {
		if part.Ref != "" {
			part = doc.Components.Schemas[strings.TrimPrefix(part.Ref, "#/components/schemas/")]
		}
		p, r := properties(doc, part)
		for k, v := range p {
			props[k] = v
		}
		for k := range r {
			required[k] = true
		}
	}
	for k, v := range s.Properties {
		props[k] = v
	}
	for _, k := range s.Required {
		required[k] = true
	}
	return props, required
}

// refOf is the component a property refers to, directly, as its items, or as its non-null oneOf.
func refOf(s *openAPISchema) string {
	switch {
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/components/schemas/")
	case s.Items != nil:
		return refOf(s.Items)
	}
	for _, alt := range s.OneOf {
		if alt.Ref != "" {
			return refOf(alt)
		}
	}
	return ""
}

func baseType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestModelsMatchTheDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, name := range sortedKeys(doc.Components.Schemas) {
		if _, ok := notModelled[name]; ok {
			continue
		}
		model, ok := modelOf[name]
		if !ok {
			t.Errorf("schema %s has no model in the SDK", name)
			continue
		}
		props, required := properties(doc, doc.Components.Schemas[name])
		fields := jsonFields(model)
		if got, want := sortedKeys(fields), sortedKeys(props); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s (%s): fields %v, the document has %v", name, model, got, want)
			continue
		}
		for prop, schema := range props {
			ref := refOf(schema)
			if ref == "" || notModelled[ref] != "" {
				continue
			}
			if fields[prop].typ == reflect.TypeOf(json.RawMessage{}) {
				continue // an event's data, read by the accessor of its type
			}
			if got := baseType(fields[prop].typ); got != modelOf[ref] {
				t.Errorf("%s.%s is a %s, the document says %s (%s)", name, prop, got, ref, modelOf[ref])
			}
		}
		for _, request := range requestSchemas {
			if request != name {
				continue
			}
			for prop, field := range fields {
				if field.omitEmpty == required[prop] {
					t.Errorf("%s.%s: omitempty is %v but required is %v", name, prop, field.omitEmpty, required[prop])
				}
			}
		}
	}
	for name := range modelOf {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("the SDK models %s, which the document no longer has", name)
		}
	}
}

// TestOperationsMatchTheDocument calls every method of the SDK against a stand-in server and
// checks that the requests cover each operation of the document exactly, with its query
// parameters and its Idempotency-Key header.
func TestOperationsMatchTheDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	server := newStandIn(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{}`)
	})
	c := server.client()
	ctx := context.Background()
	id := "0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f70"
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	list := ListParams{Status: StatusSent, Query: "q", CreatedFrom: day, CreatedTo: day, Page: 1, PageSize: 10}
	calls := []func() error{
		func() error { _, err := c.SMS.Send(ctx, otpParams); return err },
		func() error { _, err := c.SMS.Batch(ctx, []SendSMSParams{otpParams}); return err },
		func() error { _, err := c.SMS.List(ctx, ListSMSParams{ListParams: list, Flow: FlowOTP}); return err },
		func() error { _, err := c.SMS.Get(ctx, id); return err },
		func() error { _, err := c.SMS.Timeline(ctx, id); return err },
		func() error { _, err := c.SMS.Cancel(ctx, id); return err },
		func() error { _, err := c.SMS.SenderIDs(ctx, 1, 10); return err },
		func() error { _, err := c.Emails.Send(ctx, SendEmailParams{}); return err },
		func() error { _, err := c.Emails.Batch(ctx, []SendEmailParams{{}}); return err },
		func() error { _, err := c.Emails.List(ctx, list); return err },
		func() error { _, err := c.Emails.Get(ctx, id); return err },
		func() error { _, err := c.Emails.Timeline(ctx, id); return err },
		func() error { _, err := c.Emails.Cancel(ctx, id); return err },
		func() error { _, err := c.Emails.Stats(ctx, StatsParams{From: day, To: day}); return err },
		func() error { _, err := c.WhatsApp.Send(ctx, SendWhatsAppParams{}); return err },
		func() error { _, err := c.WhatsApp.Batch(ctx, []SendWhatsAppParams{{}}); return err },
		func() error { _, err := c.WhatsApp.List(ctx, list); return err },
		func() error { _, err := c.WhatsApp.Get(ctx, id); return err },
		func() error { _, err := c.WhatsApp.Timeline(ctx, id); return err },
		func() error { _, err := c.WhatsApp.Cancel(ctx, id); return err },
		func() error { _, err := c.Key(ctx); return err },
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	covered := map[string]bool{}
	for _, r := range server.seen() {
		opID, op := matchOperation(doc, r.method, r.path)
		if op == nil {
			t.Errorf("%s %s is not an operation of the document", r.method, r.path)
			continue
		}
		covered[opID] = true
		var wantQuery []string
		wantIdempotency := false
		for _, p := range op.Parameters {
			switch {
			case p.In == "query":
				wantQuery = append(wantQuery, p.Name)
			case p.In == "header" && p.Name == "Idempotency-Key":
				wantIdempotency = true
			}
		}
		sort.Strings(wantQuery)
		query := urlQueryKeys(r.rawQuery)
		if strings.Join(query, " ") != strings.Join(wantQuery, " ") {
			t.Errorf("%s: query parameters %v, the document has %v", opID, query, wantQuery)
		}
		if got := r.header.Get("Idempotency-Key") != ""; got != wantIdempotency {
			t.Errorf("%s: Idempotency-Key sent = %v, the document says %v", opID, got, wantIdempotency)
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !covered[op.OperationID] {
				t.Errorf("the SDK does not cover %s %s (%s)", strings.ToUpper(method), path, op.OperationID)
			}
		}
	}
}

func matchOperation(doc openAPIDocument, method, path string) (string, *openAPIOperation) {
	var best *openAPIOperation
	bestParams := -1
	for template, ops := range doc.Paths {
		op, ok := ops[strings.ToLower(method)]
		if !ok {
			continue
		}
		params := strings.Count(template, "{")
		pattern := "^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(template), "[^/]+") + "$"
		if regexp.MustCompile(pattern).MatchString(path) && (best == nil || params < bestParams) {
			op := op
			best, bestParams = &op, params
		}
	}
	if best == nil {
		return "", nil
	}
	return best.OperationID, best
}

func urlQueryKeys(raw string) []string {
	var keys []string
	for _, pair := range strings.Split(raw, "&") {
		if pair != "" {
			keys = append(keys, strings.SplitN(pair, "=", 2)[0])
		}
	}
	sort.Strings(keys)
	return keys
}

// TestEventAccessorsMatchTheWebhooks checks that each webhook of the document decodes with the
// accessor of its schema, and with no other.
func TestEventAccessorsMatchTheWebhooks(t *testing.T) {
	doc := loadOpenAPI(t)
	if len(doc.Webhooks) == 0 {
		t.Fatal("the document has no webhooks")
	}
	accessors := map[string]func(*Event) error{
		"SmsEvent":         func(e *Event) error { _, err := e.SMS(); return err },
		"EmailEvent":       func(e *Event) error { _, err := e.Email(); return err },
		"WhatsappEvent":    func(e *Event) error { _, err := e.WhatsApp(); return err },
		"SmsOptOutEvent":   func(e *Event) error { _, err := e.OptOut(); return err },
		"WebhookTestEvent": func(e *Event) error { _, err := e.Test(); return err },
	}
	for eventType, ops := range doc.Webhooks {
		body := ops["post"].RequestBody.Content["application/json"].Schema
		schema := refOf(&body)
		if accessors[schema] == nil {
			t.Errorf("webhook %s carries %s, which no Event accessor reads", eventType, schema)
			continue
		}
		event := &Event{Type: eventType, Data: json.RawMessage(`{}`)}
		for name, accessor := range accessors {
			if err := accessor(event); (err == nil) != (name == schema) {
				t.Errorf("webhook %s (%s): the %s accessor answered %v", eventType, schema, name, err)
			}
		}
	}
}
