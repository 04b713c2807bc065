package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/identity/internalkeys"
)

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestContext sets the request id, client IP, User-Agent and locale before anything else,
// so even the earliest error is localized and traceable.
func requestContext(production bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			rid := req.Header.Get(echo.HeaderXRequestID)
			if !safeRequestID.MatchString(rid) {
				rid = uuid.NewString()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, rid)
			info := &reqctx.Info{IP: c.RealIP(), UserAgent: req.UserAgent(), RequestID: rid, Accept: strings.Join(req.Header.Values("Accept"), ",")}
			lang, explicit := i18n.Resolve(req.Header.Get("X-App-Locale"), req.Header.Get("Accept-Language"))
			st := &i18n.State{Lang: lang, Explicit: explicit}
			ctx := i18n.With(reqctx.With(req.Context(), info), st)
			c.SetRequest(req.WithContext(ctx))
			c.Response().Before(func() {
				h := c.Response().Header()
				h.Set("Content-Language", st.Lang)
				h.Set("X-Content-Type-Options", "nosniff")
				if h.Get("Cache-Control") == "" { // an operation that documents its own lifetime (the docs) keeps it
					h.Set("Cache-Control", "no-store")
				}
				h.Set("Referrer-Policy", "no-referrer")
				h.Set("X-Frame-Options", "DENY")
				if production {
					h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
				}
			})
			return next(c)
		}
	}
}

// recoverer turns a panic into 500 SERVER_ERROR; the stack goes to the log only.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "panic", "request_id", reqctx.From(c.Request().Context()).RequestID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = apierr.ErrServer
				}
			}()
			return next(c)
		}
	}
}

// accessLog writes one structured line per request: never bodies, headers or query strings.
func accessLog(log *slog.Logger, ops map[string]string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			info := reqctx.From(c.Request().Context())
			op := ops[c.Request().Method+" "+c.Path()]
			if op == "" {
				op = "none" // unknown routes must not explode label cardinality
			}
			metrics.RequestDuration.WithLabelValues(op, c.Request().Method, strconv.Itoa(c.Response().Status)).Observe(time.Since(start).Seconds())
			attrs := []any{"operation", op, "request_id", info.RequestID, "method", c.Request().Method, "route", c.Path(),
				"status", c.Response().Status, "duration_ms", float64(time.Since(start).Microseconds()) / 1000, "ip", info.IP}
			if info.Principal != nil {
				attrs = append(attrs, "user_id", info.Principal.UserID)
			}
			log.InfoContext(c.Request().Context(), "request", attrs...)
			return nil
		}
	}
}

// bodyLimit refuses bodies over the route's limit: by Content-Length at once, and while reading.
func bodyLimit(def int64, perRoute map[string]int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit := def
			if l, ok := perRoute[c.Path()]; ok {
				limit = l
			}
			req := c.Request()
			if req.ContentLength > limit {
				return apierr.ErrTooLarge
			}
			if req.Body != nil {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}

// Authenticator resolves bearer tokens and internal keys.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (*reqctx.Principal, error)
}

// InternalAuthenticator resolves an X-Internal-Key header.
type InternalAuthenticator interface {
	AuthenticateInternal(ctx context.Context, key string) (*reqctx.InternalKey, error)
}

// authenticate enforces the security requirement the spec declares for the matched operation,
// before the body is validated (an anonymous caller learns nothing about payload rules): a
// bearer token, or an internal key holding every scope the operation lists (403 FORBIDDEN
// otherwise). This is the only place scopes are checked; services trust it.
func authenticate(reqs map[string]security, auth Authenticator, internal InternalAuthenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sec := reqs[c.Request().Method+" "+c.Path()]
			ctx := c.Request().Context()
			info := reqctx.From(ctx)
			switch {
			case sec.bearer:
				h := c.Request().Header.Get(echo.HeaderAuthorization)
				tok, ok := strings.CutPrefix(h, "Bearer ")
				if !ok || auth == nil {
					return apierr.ErrUnauthenticated
				}
				p, err := auth.Authenticate(ctx, strings.TrimSpace(tok))
				if err != nil {
					return err
				}
				info.Principal = p
				i18n.ApplyUserLocale(ctx, p.Locale)
			case sec.internal:
				k := c.Request().Header.Get("X-Internal-Key")
				if k == "" || internal == nil {
					return apierr.ErrUnauthenticated
				}
				ik, err := internal.AuthenticateInternal(ctx, k)
				if err != nil {
					return err
				}
				for _, scope := range sec.scopes {
					if !internalkeys.Grants(ik, scope) {
						return internalkeys.ErrScope
					}
				}
				info.InternalKey = ik
			}
			return next(c)
		}
	}
}
