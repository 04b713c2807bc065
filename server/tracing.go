package server

import (
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowxi/backend/infra/tracing"
	"github.com/flowxi/backend/kit/reqctx"
)

// traceRequests starts the request's server span (mounted only when tracing is on), named by
// method and route template, with the operation id and our request id (flowxi.request_id):
// every span below it (authentication, SQL, Redis, the ledger batch) is its descendant, and the
// access log line is written inside it, so it carries the trace id. A client's traceparent is
// not continued: on a public API it would let any caller choose to be sampled, so every request
// starts its own trace and the sampler alone decides.
func traceRequests(tr trace.Tracer, ops map[string]string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			op := ops[req.Method+" "+c.Path()]
			if op == "" {
				op = "none"
			}
			ctx, span := tr.Start(req.Context(), req.Method+" "+c.Path(), trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", c.Path()),
					attribute.String("flowxi.operation", op), tracing.RequestIDKey.String(reqctx.From(req.Context()).RequestID)))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			status := c.Response().Status
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, strconv.Itoa(status))
			}
			return err
		}
	}
}
