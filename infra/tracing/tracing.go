package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// RequestIDKey is the span attribute holding our request id (the error envelope's request_id,
// the X-Request-Id header): the way from a support ticket to its trace.
const RequestIDKey = attribute.Key("flowxi.request_id")

// Options configure tracing (config: TRACING_*, OTEL_*).
type Options struct {
	Enabled bool
	// Ratio is the share of new traces sampled (0..1); a span with a parent follows the parent.
	Ratio float64
	// Endpoint is the OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to its
	// /v1/traces. Empty: the SDK's default (http://localhost:4318).
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS: key=value,…).
	Headers     map[string]string
	ServiceName string
	Log         *slog.Logger
}

// Tracing is the process's tracer provider and the instrumentation it hands out.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when off
}

// Open builds the provider: a no-op one when tracing is off, otherwise the SDK exporting in
// batches over OTLP/HTTP (protobuf) from a background goroutine, never blocking a request (a full
// queue drops spans).
func Open(ctx context.Context, o Options) (*Tracing, error) {
	if !o.Enabled {
		return &Tracing{provider: noop.NewTracerProvider()}, nil
	}
	if o.Ratio < 0 || o.Ratio > 1 {
		return nil, fmt.Errorf("TRACING_SAMPLE_RATIO must be between 0 and 1, not %v", o.Ratio)
	}
	var opts []otlptracehttp.Option
	if o.Endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(o.Endpoint, "/")+"/v1/traces"))
	}
	if len(o.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(o.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", o.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	if o.Log != nil {
		log := o.Log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "error", err.Error()) }))
	}
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.Ratio))),
	)
	return &Tracing{provider: sdk, sdk: sdk}, nil
}

// On reports whether spans are recorded and exported.
func (t *Tracing) On() bool { return t.sdk != nil }

// Tracer returns the named tracer (a no-op one when off).
func (t *Tracing) Tracer(name string) trace.Tracer { return t.provider.Tracer(name) }

// Provider is the tracer provider.
func (t *Tracing) Provider() trace.TracerProvider { return t.provider }

// PgTracer is the pgx tracer of the pools: a span per statement (named after its sqlc query),
// per batch, per COPY and per connection acquisition, only under a sampled parent span (a
// background worker's statements start no trace). The SQL text is recorded, never the
// parameters. Nil when off: the pools then have no tracer.
func (t *Tracing) PgTracer() pgx.QueryTracer {
	if !t.On() {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.provider), otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelpgx.WithSpanNameFunc(QueryName), otelpgx.WithDisableConnectionDetailsInAttributes())
}

// QueryName names a statement's span after its sqlc query ("-- name: GetWallet :one" →
// "GetWallet"), else after its first keyword.
func QueryName(sql string) string {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(sql), "-- name: "); ok {
		if name, _, ok := strings.Cut(rest, " "); ok {
			return name
		}
	}
	return otelpgx.SQLOperationName(context.Background(), sql)
}

// InstrumentRedis adds a span per Redis command or pipeline (no arguments recorded: they may
// hold secrets such as a pending TOTP secret). Nothing when off.
func (t *Tracing) InstrumentRedis(r redis.UniversalClient) error {
	if !t.On() {
		return nil
	}
	return redisotel.InstrumentTracing(r, redisotel.WithTracerProvider(t.provider),
		redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false))
}

// ForceFlush exports every span ended so far (tests, benchmarks).
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	return t.sdk.ForceFlush(ctx)
}

// Shutdown flushes the spans still queued and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	return errors.Join(t.sdk.ForceFlush(ctx), t.sdk.Shutdown(ctx))
}

// ParseHeaders reads OTEL_EXPORTER_OTLP_HEADERS: comma-separated key=value pairs, values
// URL-encoded (the OpenTelemetry specification's format).
func ParseHeaders(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New("OTEL_EXPORTER_OTLP_HEADERS: want key=value,…")
		}
		uv, err := url.QueryUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: header %s: %w", k, err)
		}
		out[k] = uv
	}
	return out, nil
}
