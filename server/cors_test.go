package server_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

const (
	allowedOrigin = "https://app.flowxi.test"
	foreignOrigin = "https://evil.example"
)

// browserCall is what a browser front end sends for one operation of the spec.
type browserCall struct {
	method, path string
	headers      []string // request headers a browser would name in Access-Control-Request-Headers
	internal     bool     // authenticated by X-Internal-Key (never allowed cross-origin)
	bearer       bool
	json         bool
}

// browserCalls walks openapi.yaml: every operation, with its header parameters, Authorization
// when it takes a bearer token, Content-Type when it has a body.
func browserCalls(t *testing.T) []browserCall {
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var out []browserCall
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			c := browserCall{method: method, path: fillPath(path, append(item.Parameters, op.Parameters...))}
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value.In == openapi3.ParameterInHeader {
					c.headers = append(c.headers, p.Value.Name)
				}
			}
			if op.RequestBody != nil {
				c.headers = append(c.headers, "Content-Type")
				c.json = op.RequestBody.Value.Content.Get("application/json") != nil
			}
			reqs := spec.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			for _, r := range reqs {
				_, bearer := r["bearerAuth"]
				_, internal := r["internalKey"]
				c.bearer, c.internal = c.bearer || bearer, c.internal || internal
			}
			if c.bearer {
				c.headers = append(c.headers, "Authorization")
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

// fillPath gives every path parameter a value its schema accepts.
func fillPath(path string, params openapi3.Parameters) string {
	for _, p := range params {
		if p.Value.In != openapi3.ParameterInPath {
			continue
		}
		v := "1"
		if s := p.Value.Schema.Value; len(s.Enum) > 0 {
			v, _ = s.Enum[0].(string)
		}
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", v)
	}
	return path
}

func preflight(t *testing.T, url, origin, method string, headers []string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if len(headers) > 0 {
		req.Header.Set("Access-Control-Request-Headers", strings.ToLower(strings.Join(headers, ",")))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// listed reports whether a comma-separated CORS header value names v (case-insensitive).
func listed(value, v string) bool {
	for _, x := range strings.Split(value, ",") {
		if strings.EqualFold(strings.TrimSpace(x), v) {
			return true
		}
	}
	return false
}

// Every operation of the spec can be called from an allowed browser origin: its preflight
// allows the method and every header the operation takes (PUT used to be missing, so
// saveKycData, saveKybData and setComplianceAccountType failed in browsers), and the real
// request's answer carries Access-Control-Allow-Origin and exposes the headers clients read. A
// foreign origin gets no allow header; X-Internal-Key is never allowed cross-origin.
func TestCORSPreflightForEveryOperation(t *testing.T) {
	env := testkit.New(t, func(c *config.Config) { c.CORSOrigins = []string{allowedOrigin} })
	user := env.CreateUser()
	calls := browserCalls(t)
	if len(calls) < 40 {
		t.Fatalf("only %d operations in the spec", len(calls))
	}
	for _, c := range calls {
		name := c.method + " " + c.path
		res := preflight(t, env.URL+c.path, allowedOrigin, c.method, c.headers)
		h := res.Header
		if res.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != allowedOrigin || !listed(h.Get("Access-Control-Allow-Methods"), c.method) {
			t.Errorf("%s: preflight %d allow-origin %q allow-methods %q", name, res.StatusCode, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Methods"))
		}
		for _, hdr := range c.headers {
			if !listed(h.Get("Access-Control-Allow-Headers"), hdr) {
				t.Errorf("%s: header %s not allowed (%q)", name, hdr, h.Get("Access-Control-Allow-Headers"))
			}
		}
		if c.internal && listed(h.Get("Access-Control-Allow-Headers"), "X-Internal-Key") {
			t.Errorf("%s: X-Internal-Key allowed cross-origin", name)
		}
		if res := preflight(t, env.URL+c.path, foreignOrigin, c.method, c.headers); res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("%s: foreign origin preflight allowed", name)
		}
		for origin, want := range map[string]string{allowedOrigin: allowedOrigin, foreignOrigin: ""} {
			req := testkit.Req{Method: c.method, Path: c.path, Headers: map[string]string{"Origin": origin, "X-App-Locale": "en", "Idempotency-Key": "cors-" + c.method + c.path}}
			if c.bearer {
				req.Token = user.Token
			}
			if c.json {
				req.JSON = map[string]any{}
			}
			r := env.Do(req)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("%s from %s: answer %d has allow-origin %q, want %q", name, origin, r.Status, got, want)
			}
			if want == "" {
				continue
			}
			for _, exposed := range []string{"Retry-After", "Idempotent-Replayed", "Content-Disposition", "X-Request-Id", "Content-Language"} {
				if !listed(r.Header.Get("Access-Control-Expose-Headers"), exposed) {
					t.Errorf("%s: %s not exposed (%q)", name, exposed, r.Header.Get("Access-Control-Expose-Headers"))
				}
			}
		}
	}
}
