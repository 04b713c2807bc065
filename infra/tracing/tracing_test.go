package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestQueryNameIsTheSqlcQuery(t *testing.T) {
	for sql, want := range map[string]string{
		"-- name: ClaimIdempotencyKeys :many\nSELECT 1": "ClaimIdempotencyKeys",
		"  -- name: GetWallet :one\nSELECT *":           "GetWallet",
		"SELECT count(*) FROM mail_outbox":              "SELECT",
	} {
		if got := QueryName(sql); got != want {
			t.Errorf("QueryName(%q) = %q, want %q", sql, got, want)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	h, err := ParseHeaders("api-key=a%20b, x-tenant = flowxi ,")
	if err != nil || len(h) != 2 || h["api-key"] != "a b" || h["x-tenant"] != "flowxi" {
		t.Fatalf("%v %v", h, err)
	}
	if _, err := ParseHeaders("novalue"); err == nil {
		t.Fatal("a pair without = accepted")
	}
	if h, err := ParseHeaders(""); err != nil || len(h) != 0 {
		t.Fatalf("empty: %v %v", h, err)
	}
}

// A line logged in a span's context carries its ids, also through With; one without a span
// carries none.
func TestLogHandlerAddsTheSpanIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("worker", "x")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	log.InfoContext(ctx, "in")
	span.End()
	log.InfoContext(context.Background(), "out")
	dec := json.NewDecoder(&buf)
	var in, out map[string]any
	if dec.Decode(&in) != nil || dec.Decode(&out) != nil {
		t.Fatalf("log: %s", buf.String())
	}
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() || in["worker"] != "x" {
		t.Fatalf("in a span: %v", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Fatalf("without a span: %v", out)
	}
}

func TestOffIsNoop(t *testing.T) {
	tr, err := Open(context.Background(), Options{})
	if err != nil || tr.On() || tr.PgTracer() != nil || tr.InstrumentRedis(nil) != nil {
		t.Fatalf("off: %v %v", tr, err)
	}
	if _, err := Open(context.Background(), Options{Enabled: true, Ratio: 2}); err == nil {
		t.Fatal("ratio 2 accepted")
	}
}
