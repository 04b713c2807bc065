package server

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/apierr"
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
