// Package tracing owns OpenTelemetry tracing: the tracer provider (the SDK with an OTLP/HTTP
// exporter and a parent-based ratio sampler when TRACING_ENABLED, a no-op provider otherwise),
// the instrumentation of the PostgreSQL pools (otelpgx) and of the Redis client (redisotel), and
// the log handler that writes trace_id and span_id into every line logged in a traced context.
//
// Off, it installs nothing: the provider is the no-op one, PgTracer is nil (the pools get no
// tracer at all) and Redis gets no hook, so a request pays nothing for tracing.
package tracing
