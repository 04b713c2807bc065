package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/apierr"
)

// FuzzValidationMapper feeds arbitrary bodies to the real validator of the login operation and
// maps the errors: it must never panic, every result is a 400/413/422 typed error, and no rule
// or field name may carry the submitted value (kin-openapi's own text would).
func FuzzValidationMapper(f *testing.F) {
	spec, err := api.GetSwagger()
	if err != nil {
		f.Fatal(err)
	}
	spec.Servers = nil
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{}`, `{"email":"a@b.co","password":"p","device_id":"d","device_type":"t","device_name":"n"}`, `{"email":5}`, `[`, `{"email":"SECRETVALUE"}`, `null`, `{"device_id":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest("POST", "http://localhost/api/v1/auth/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		})
		if err == nil {
			return
		}
		me, ok := err.(openapi3.MultiError)
		if !ok {
			return
		}
		he := toAPIError(me)
		ae, ok := apierr.As(he.Internal)
		if !ok {
			t.Fatalf("not a typed error: %v", he)
		}
		if ae.Status != 400 && ae.Status != 413 && ae.Status != 422 && ae.Status != 401 {
			t.Fatalf("status %d", ae.Status)
		}
		for field, rules := range ae.Fields {
			for _, r := range rules {
				if len(body) > 12 && (strings.Contains(r.Key, string(body)) || strings.Contains(r.Param, string(body))) {
					t.Fatalf("rule echoes the body: %+v", r)
				}
				if strings.Contains(field, "SECRETVALUE") || strings.Contains(r.Key, "SECRETVALUE") || strings.Contains(r.Param, "SECRETVALUE") {
					t.Fatalf("value leaked into %q %+v", field, r)
				}
			}
		}
	})
}

// FuzzTextRule sends any body to the transfer route behind the character guard (the real
// middleware and error handler, a stub handler): a body the guard lets through holds only valid
// UTF-8 strings and keys, none with a forbidden character (tab, LF, CR only in the multi-line
// `note`) nor an unpaired surrogate; a refused one is a 400 or a 422 whose field names carry no
// forbidden character. Any other status, or a panic, fails. CleanText itself is checked against
// an independent statement of the rule.
func FuzzTextRule(f *testing.F) {
	spec, err := api.GetSwagger()
	if err != nil {
		f.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	e.POST("/api/v1/transfers", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, textGuard(spec))
	for _, s := range []string{`{"note":"a\nb","to_username":"fx1"}`, `{"note":"a\u0000"}`, `{"to_username":"\ud800"}`, "{\"k\xff\":1}",
		`{"a":{"b":["\u202e"]}}`, `{"a":1,"a":2}`, `[[[[[[]]]]]]`, `"\ud83d\ude00"`, "{\"note\":\"\xc2\x85\"}", `{"x":"\\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, multi := range []bool{false, true} {
			if got, want := CleanText(string(body), multi), ruleHolds(string(body), multi); got != want {
				t.Fatalf("CleanText(%q, %v) = %v", body, multi, got)
			}
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1/transfers", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNoContent:
			checkAccepted(t, body)
		case http.StatusBadRequest:
		case http.StatusUnprocessableEntity:
			var res struct {
				Code   string              `json:"code"`
				Errors map[string][]string `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Code != "VALIDATION_FAILED" || len(res.Errors) == 0 {
				t.Fatalf("422 body %s", rec.Body)
			}
			for field := range res.Errors {
				if !ruleHolds(field, false) {
					t.Fatalf("field name %q echoes a forbidden character", field)
				}
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// ruleHolds states the character rule independently of CleanText.
func ruleHolds(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		if r == '\t' || r == '\n' || r == '\r' {
			return !multiline
		}
		return r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
	})
}

// checkAccepted fails unless every string and key of an accepted JSON body passes the rule and
// decoding replaced nothing (a U+FFFD the raw body did not spell is an unpaired surrogate).
func checkAccepted(t *testing.T, body []byte) {
	if !json.Valid(body) {
		return // left to the schema validator, which refuses it
	}
	if !utf8.Valid(body) {
		t.Fatalf("accepted invalid UTF-8: %q", body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return
	}
	replaced := 0
	var walk func(v any, multi bool)
	check := func(s string, multi bool) {
		if !ruleHolds(s, multi) {
			t.Fatalf("accepted %q in %q", s, body)
		}
		replaced += strings.Count(s, "\ufffd")
	}
	walk = func(v any, multi bool) {
		switch x := v.(type) {
		case string:
			check(x, multi)
		case []any:
			for _, c := range x {
				walk(c, false)
			}
		case map[string]any:
			for k, c := range x {
				check(k, false)
				walk(c, false)
			}
		}
	}
	if m, ok := v.(map[string]any); ok {
		for k, c := range m {
			check(k, false)
			walk(c, k == "note") // the spec's only multi-line member of a transfer
		}
	} else {
		walk(v, false)
	}
	spelled := bytes.Count(body, []byte("\ufffd")) + bytes.Count(bytes.ToLower(body), []byte(`\ufffd`))
	if replaced > spelled {
		t.Fatalf("accepted an unpaired surrogate: %q", body)
	}
}
