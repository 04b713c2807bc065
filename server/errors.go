package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
)

// errorHandler is the one place that turns any error into the localized envelope.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := classify(err)
		ctx := c.Request().Context()
		info := reqctx.From(ctx)
		switch {
		case ae.Code == "SERVICE_UNAVAILABLE" && ae.Cause != nil:
			log.WarnContext(ctx, "dependency unavailable", "request_id", info.RequestID, "route", c.Path(), "error", err.Error())
		case ae.Status >= 500 && ae.Code != "NOT_IMPLEMENTED" && ae.Code != "SERVICE_UNAVAILABLE":
			// The cause goes to the log only (it may hold SQL text); never to the client.
			log.ErrorContext(ctx, "request failed", "request_id", info.RequestID, "route", c.Path(), "error", err.Error())
		}
		lang := i18n.Lang(ctx)
		if ae.RetryAfter > 0 {
			secs := int(ae.RetryAfter.Seconds() + 0.999)
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(ae.Status)
			return
		}
		rid := info.RequestID
		if len(ae.Fields) > 0 {
			fields := map[string][]string{}
			for _, f := range ae.FieldNames() {
				for _, r := range ae.Fields[f] {
					fields[f] = append(fields[f], i18n.Validation(lang, r.Key, f, r.Param))
				}
			}
			_ = c.JSON(ae.Status, api.ValidationError{Code: api.Code(ae.Code), Message: i18n.Text(lang, ae.Code), Errors: fields, RequestId: &rid})
			return
		}
		_ = c.JSON(ae.Status, api.Error{Code: api.Code(ae.Code), Message: i18n.Text(lang, ae.Code), RequestId: &rid})
	}
}

// classify maps any error to a typed API error. PostgreSQL or Redis not answering (or failing
// over) is 503 SERVICE_UNAVAILABLE: the request was refused and may be sent again (a money
// request with its Idempotency-Key).
func classify(err error) *apierr.Error {
	if ae, ok := apierr.As(err); ok {
		return ae
	}
	if cache.Unavailable(err) || pg.Unavailable(err) {
		return apierr.ErrUnavailable.Wrap(err)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if ae, ok := apierr.As(he.Internal); ok {
			return ae
		}
		switch he.Code {
		case http.StatusNotFound:
			return apierr.ErrNotFound
		case http.StatusMethodNotAllowed:
			return apierr.New(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		case http.StatusRequestEntityTooLarge:
			return apierr.ErrTooLarge
		case http.StatusBadRequest, http.StatusUnsupportedMediaType:
			return apierr.ErrMalformed
		case http.StatusUnauthorized:
			return apierr.ErrUnauthenticated
		case http.StatusForbidden:
			return apierr.ErrForbidden
		case http.StatusTooManyRequests:
			return apierr.RateLimited(0)
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apierr.ErrTooLarge
	}
	return apierr.ErrServer.Wrap(err)
}
