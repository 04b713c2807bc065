// Package apierr is the one typed error every service returns for a documented failure. The
// server turns it into the localized envelope; services never build HTTP bodies for errors.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Rule is one failed validation rule on a field: a locale key (e.g. "required",
// "format.email", "minLength") and an optional parameter rendered into the message.
type Rule struct {
	Key   string
	Param string
}

// Error is a domain outcome with a stable code and an HTTP status.
type Error struct {
	Status     int
	Code       string
	Fields     map[string][]Rule
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s (%d): %v", e.Code, e.Status, e.Cause)
	}
	return fmt.Sprintf("%s (%d)", e.Code, e.Status)
}

// Unwrap exposes the cause for errors.Is/As.
func (e *Error) Unwrap() error { return e.Cause }

// New builds an error with a status and a code.
func New(status int, code string) *Error { return &Error{Status: status, Code: code} }

// Wrap attaches a cause (kept for logs, never shown to clients).
func (e *Error) Wrap(cause error) *Error { c := *e; c.Cause = cause; return &c }

// As extracts an *Error from err.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Invalid is a 422 VALIDATION_FAILED with one failed rule; business validation looks exactly
// like schema validation.
func Invalid(field, rule string, param ...string) *Error {
	var f Fields
	f.Add(field, rule, param...)
	return f.e
}

// InvalidAs is Invalid under another documented code (e.g. PHOTO_INVALID), keeping the validation
// body shape.
func InvalidAs(code, field, rule string, param ...string) *Error {
	e := Invalid(field, rule, param...)
	e.Code = code
	return e
}

// Fields collects the failed rules of a request's fields, so that every failing field is
// reported at once (as schema validation does). The zero value is empty and ready to use.
type Fields struct{ e *Error }

// Add records a failed rule (a locale key) on a field, with an optional parameter for the message.
func (f *Fields) Add(field, rule string, param ...string) {
	if f.e == nil {
		f.e = &Error{Status: http.StatusUnprocessableEntity, Code: "VALIDATION_FAILED", Fields: map[string][]Rule{}}
	}
	r := Rule{Key: rule}
	if len(param) > 0 {
		r.Param = param[0]
	}
	f.e.Fields[field] = append(f.e.Fields[field], r)
}

// Err is nil while no rule failed, else the 422 VALIDATION_FAILED naming every failed rule.
// It returns the error interface so that an empty collector is a true nil error.
func (f *Fields) Err() error {
	if f.e == nil {
		return nil
	}
	return f.e
}

// FieldNames lists the failing fields in a stable order.
func (e *Error) FieldNames() []string {
	out := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RateLimited is a 429 with the time to wait.
func RateLimited(retryAfter time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "RATE_LIMITED", RetryAfter: retryAfter}
}

// Generic errors shared by every service.
var (
	ErrUnauthenticated = New(http.StatusUnauthorized, "UNAUTHENTICATED")
	ErrForbidden       = New(http.StatusForbidden, "FORBIDDEN")
	ErrNotFound        = New(http.StatusNotFound, "NOT_FOUND")
	ErrNotImplemented  = New(http.StatusNotImplemented, "NOT_IMPLEMENTED")
	ErrMalformed       = New(http.StatusBadRequest, "MALFORMED_REQUEST")
	ErrTooLarge        = New(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	ErrServer          = New(http.StatusInternalServerError, "SERVER_ERROR")
	// ErrUserNotFound is an internal operation naming a user id that does not exist
	// (compliance, support, privacy).
	ErrUserNotFound = New(http.StatusNotFound, "USER_NOT_FOUND")
	// ErrUnavailable is a dependency (PostgreSQL, Redis) not answering or failing over: the
	// request was refused, never answered as if a check it needed had passed.
	ErrUnavailable = New(http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
)
