package server

import (
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Headers the server handles on every route, outside the operations' parameters: a client may
// send its own X-Request-Id (echoed when safe); every answer carries X-Request-Id and
// Content-Language.
var (
	plumbingRequestHeaders  = []string{echo.HeaderXRequestID}
	plumbingResponseHeaders = []string{echo.HeaderXRequestID, "Content-Language"}
)

// corsConfig allows the configured origins to call every operation of the spec: the methods,
// request headers and response headers come from the operations, so a new operation (or a PUT)
// is callable from a browser without editing a list. Header security schemes (X-Internal-Key)
// are not allowed: internal keys belong to back-office servers, never to a browser.
func corsConfig(spec *openapi3.T, origins []string) middleware.CORSConfig {
	methods, reqHeaders, resHeaders := set{}, headerSet{set{}}, headerSet{set{}}
	reqHeaders.add(plumbingRequestHeaders...)
	resHeaders.add(plumbingResponseHeaders...)
	for _, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			methods.add(method)
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader {
					reqHeaders.add(p.Value.Name)
				}
			}
			if op.RequestBody != nil {
				reqHeaders.add(echo.HeaderContentType)
			}
			if bearer(spec, op) {
				reqHeaders.add(echo.HeaderAuthorization)
			}
			for _, res := range op.Responses.Map() {
				if res.Value != nil {
					for name := range res.Value.Headers {
						resHeaders.add(name)
					}
				}
			}
		}
	}
	return middleware.CORSConfig{
		AllowOrigins:  origins,
		AllowMethods:  methods.sorted(),
		AllowHeaders:  reqHeaders.sorted(),
		ExposeHeaders: resHeaders.sorted(),
		MaxAge:        600,
	}
}

// bearer reports an operation that accepts a bearer token (Authorization).
func bearer(spec *openapi3.T, op *openapi3.Operation) bool {
	reqs := spec.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	for _, r := range reqs {
		for name := range r {
			if s := spec.Components.SecuritySchemes[name]; s != nil && s.Value != nil && s.Value.Type == "http" {
				return true
			}
		}
	}
	return false
}

type set map[string]bool

func (s set) add(v ...string) {
	for _, x := range v {
		s[x] = true
	}
}

// headerSet keeps header names in their canonical form, so one header is listed once.
type headerSet struct{ set }

func (s headerSet) add(v ...string) {
	for _, x := range v {
		s.set.add(http.CanonicalHeaderKey(x))
	}
}

func (s set) sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
