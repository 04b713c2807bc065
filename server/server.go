// Package server is the Echo wiring: middleware (request id, recover, locale, access log, body
// limit, authentication, validation), the one error handler, and the mounting of the generated
// strict interface. It holds no business logic.
package server

import (
	"log/slog"
	"net/netip"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echomiddleware "github.com/oapi-codegen/echo-middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowxi/backend/gen/api"
)

// Options configure the HTTP server.
type Options struct {
	API            api.StrictServerInterface
	Auth           Authenticator
	Internal       InternalAuthenticator
	Log            *slog.Logger
	TrustedProxies []netip.Prefix
	// BodyLimit is the default request body limit (1 MiB); UploadLimits override it by route.
	BodyLimit    int64
	UploadLimits map[string]int64
	// Extra lets other packages mount routes outside the spec (docs, signed files).
	Extra func(e *echo.Echo)
	// Production adds HSTS; CORSOrigins is the strict allow-list of browser origins (empty: no
	// cross-origin access).
	Production  bool
	CORSOrigins []string
	// Tracer starts a span per request (nil: tracing off, no middleware mounted).
	Tracer trace.Tracer
}

// security is an operation's requirement as the spec declares it: which scheme, and for
// internalKey the scopes the key must hold (every one of them).
type security struct {
	bearer, internal bool
	scopes           []string
}

// New builds the Echo server.
func New(o Options) (*echo.Echo, error) {
	spec, err := api.GetSwagger()
	if err != nil {
		return nil, err
	}
	spec.Servers = nil // otherwise the validator checks the Host header
	if o.BodyLimit == 0 {
		o.BodyLimit = 1 << 20
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(o.TrustedProxies)
	e.HTTPErrorHandler = errorHandler(o.Log)

	ops := operationIDs(spec)
	e.Use(requestContext(o.Production))
	if o.Tracer != nil {
		e.Use(traceRequests(o.Tracer, ops))
	}
	e.Use(accessLog(o.Log, ops), recoverer(o.Log))
	if len(o.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(corsConfig(spec, o.CORSOrigins)))
	}
	e.Use(bodyLimit(o.BodyLimit, o.UploadLimits))

	validator, err := specValidator(spec, &echomiddleware.Options{
		Options: openapi3filter.Options{
			MultiError:          true,
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
		},
		MultiErrorHandler:     toAPIError,
		SilenceServersWarning: true,
	})
	if err != nil {
		return nil, err
	}
	g := e.Group("", authenticate(securityMap(spec), o.Auth, o.Internal), textGuard(spec), validator)
	api.RegisterHandlers(g, api.NewStrictHandler(o.API, nil))
	if o.Extra != nil {
		o.Extra(e)
	}
	return e, nil
}

// operationIDs indexes each operationId by "METHOD /echo/path" (metrics labels).
func operationIDs(spec *openapi3.T) map[string]string {
	out := map[string]string{}
	for path, item := range spec.Paths.Map() {
		echoPath := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			out[method+" "+echoPath] = op.OperationID
		}
	}
	return out
}

// securityMap indexes each operation's requirement by "METHOD /echo/path".
func securityMap(spec *openapi3.T) map[string]security {
	out := map[string]security{}
	for path, item := range spec.Paths.Map() {
		echoPath := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			reqs := spec.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			var s security
			for _, r := range reqs {
				if _, ok := r["bearerAuth"]; ok {
					s.bearer = true
				}
				if scopes, ok := r["internalKey"]; ok {
					s.internal = true
					s.scopes = append(s.scopes, scopes...)
				}
			}
			out[method+" "+echoPath] = s
		}
	}
	return out
}

// ipExtractor uses the socket address unless trusted proxies are configured; Echo's default
// would trust client-sent forwarding headers.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		pfx := p
		opts = append(opts, echo.TrustIPRange(netipToNet(pfx)))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
