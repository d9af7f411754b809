package herald

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error is an error answer of the API: {"error": {"code", "message", "details"}}.
//
//	var apiErr *herald.Error
//	if errors.As(err, &apiErr) && apiErr.Code == "SENDER_ID_NOT_APPROVED" { … }
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the API's UPPER_SNAKE code, for programs to switch on (empty when the answer was
	// not the API's error shape, as from a proxy).
	Code string
	// Message is for people; its wording may change.
	Message string
	// Details has one entry per invalid field, when the error is about fields.
	Details []FieldError
	// RequestID is the answer's X-Request-Id, to quote when reporting a problem.
	RequestID string
}

// FieldError is one invalid field of a request.
type FieldError struct {
	// Field is the field's path in the body or query: "to", "messages[3].to".
	Field string `json:"field"`
	// Message says what is wrong with it.
	Message string `json:"message"`
	// Code is a batch item's own error code.
	Code string `json:"code,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "herald: %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for _, d := range e.Details {
		fmt.Fprintf(&b, "; %s %s", d.Field, d.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

type errorBody struct {
	Error *errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
}

func newError(status int, header http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, RequestID: header.Get("X-Request-Id")}
	var parsed errorBody
	if json.Unmarshal(body, &parsed) == nil && parsed.Error != nil {
		e.Code, e.Message, e.Details = parsed.Error.Code, parsed.Error.Message, parsed.Error.Details
	} else {
		e.Message = http.StatusText(status)
	}
	return e
}
