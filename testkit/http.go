package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/flowxi/backend/gen/api"
)

// Resp is a response read in full and already validated against the spec.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Code returns the body's `code`.
func (r *Resp) Code() string { s, _ := r.JSON["code"].(string); return s }

// Message returns the body's `message`.
func (r *Resp) Message() string { s, _ := r.JSON["message"].(string); return s }

// Data returns the body's `data` object.
func (r *Resp) Data() map[string]any { m, _ := r.JSON["data"].(map[string]any); return m }

// Errors returns the validation `errors` map.
func (r *Resp) Errors() map[string]any { m, _ := r.JSON["errors"].(map[string]any); return m }

// Req describes one request.
type Req struct {
	Method  string
	Path    string
	JSON    any    // marshalled as the body when set
	Raw     []byte // sent as is when set
	Type    string // Content-Type for Raw
	Token   string // bearer token
	Headers map[string]string
}

// Fetch GETs a link the server handed out (a signed object URL): a relative one from the test
// server (the local storage driver serves it), an absolute one (object storage) as it is. The
// answer is read in full, not checked against the spec.
func (e *Env) Fetch(url string) *Resp {
	e.T.Helper()
	if strings.HasPrefix(url, "/") {
		url = e.URL + url
	}
	res, err := http.Get(url)
	if err != nil {
		e.T.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	out := &Resp{Status: res.StatusCode, Header: res.Header}
	out.Body, _ = io.ReadAll(res.Body)
	return out
}

// Do sends r and validates the response against openapi.yaml; a response the spec does not
// describe fails the test.
func (e *Env) Do(r Req) *Resp {
	e.T.Helper()
	var body io.Reader
	ctype := r.Type
	var raw []byte
	switch {
	case r.Raw != nil:
		raw = r.Raw
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			e.T.Fatalf("marshal: %v", err)
		}
		raw, ctype = b, "application/json"
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.Method, e.URL+r.Path, body)
	if err != nil {
		e.T.Fatalf("request: %v", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	out := &Resp{Status: res.StatusCode, Header: res.Header}
	out.Body, _ = io.ReadAll(res.Body)
	if len(out.Body) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.JSON); err != nil {
			e.T.Fatalf("%s %s: response is not JSON: %v: %s", r.Method, r.Path, err, out.Body)
		}
	}
	// Rebuild the request for the validator (its body was consumed).
	vreq, _ := http.NewRequest(r.Method, "http://localhost"+r.Path, bytes.NewReader(raw))
	for k, v := range req.Header {
		vreq.Header[k] = v
	}
	if err := ValidateResponse(vreq, out.Status, res.Header, out.Body); err != nil {
		e.T.Fatalf("%s %s: response %d does not match openapi.yaml: %v\nbody: %s", r.Method, r.Path, out.Status, err, out.Body)
	}
	return out
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
)

func spec(t testing.TB) (*openapi3.T, routers.Router) {
	specOnce.Do(func() {
		s, err := api.GetSwagger()
		if err != nil {
			panic(err)
		}
		s.Servers = nil
		r, err := gorillamux.NewRouter(s)
		if err != nil {
			panic(err)
		}
		specDoc, specRouter = s, r
	})
	return specDoc, specRouter
}

// ValidateResponse checks a response against the operation the request matches, or, for
// requests matching no operation, against the Error schema.
func ValidateResponse(req *http.Request, status int, h http.Header, body []byte) error {
	doc, router := spec(nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return doc.Components.Schemas["Error"].Value.VisitJSON(v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  h,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}
