package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	echomiddleware "github.com/oapi-codegen/echo-middleware"
)

// specValidator validates every request against the spec (echo-middleware's validator over
// kin-openapi, unchanged), finding the request's operation by the route Echo matched instead of
// matching the URL against every path of the spec again. The validator's own router
// (gorilla/mux) tries each of the spec's paths' regular expressions in turn and allocates a
// match per try: on a transfer that was the validator's largest cost, more than the schema
// checks (docs/perf/http-path.md). Requests Echo matched to no operation of the spec (unknown
// paths, methods a path lacks) still go through the gorilla/mux router, so they get exactly the
// answers they got before.
func specValidator(spec *openapi3.T, opts *echomiddleware.Options) (echo.MiddlewareFunc, error) {
	fallback, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, err
	}
	idx := routeIndex(spec)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := echomiddleware.ValidateRequestFromContext(c, echoRouter{c: c, routes: idx, fallback: fallback}, opts); err != nil {
				if opts.ErrorHandler != nil {
					return opts.ErrorHandler(c, err)
				}
				return err
			}
			return next(c)
		}
	}, nil
}

// routeIndex holds one route per operation, by "METHOD /echo/path" (the key every middleware of
// this package looks operations up by).
func routeIndex(spec *openapi3.T) map[string]*routers.Route {
	out := map[string]*routers.Route{}
	for path, item := range spec.Paths.Map() {
		echoPath := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			out[method+" "+echoPath] = &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return out
}

// echoRouter answers the validator's route lookup for one request from the route Echo matched.
type echoRouter struct {
	c        echo.Context
	routes   map[string]*routers.Route
	fallback routers.Router
}

// FindRoute returns the operation Echo matched with its path parameters (decoded, as the
// validator expects them), or asks the spec's router when Echo matched none of the spec's.
func (r echoRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	route, ok := r.routes[req.Method+" "+r.c.Path()]
	if !ok {
		return r.fallback.FindRoute(req)
	}
	names := r.c.ParamNames()
	params := make(map[string]string, len(names))
	escaped := req.URL.RawPath != ""
	for i, v := range r.c.ParamValues()[:len(names)] {
		// Echo matches the raw path when the request has one (values still escaped), the decoded
		// path otherwise; the validator unescapes what its router returns, the escaped segment.
		if !escaped {
			v = url.PathEscape(v)
		}
		params[names[i]] = v
	}
	return route, params, nil
}
