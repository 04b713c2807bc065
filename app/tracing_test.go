package app_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/identity/stepup"
	"github.com/flowxi/backend/testkit"
)

// tracedEnv starts a server exporting its spans to an in-process OTLP receiver at ratio, and
// funds a transfer from a 2FA user holding a step-up grant (so the request also reads Redis).
func tracedEnv(t *testing.T, ratio float64) (*testkit.Env, *testkit.OTLPReceiver, *testkit.LogBuffer, func() *testkit.Resp) {
	rcv := testkit.StartOTLPReceiver(t, true)
	logs := &testkit.LogBuffer{}
	env := testkit.NewWithLog(t, logs, func(c *config.Config) {
		c.TracingEnabled, c.TracingSampleRatio, c.OTLPEndpoint = true, ratio, rcv.URL
	})
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	alice, bob := env.CreateUser(), env.CreateUser()
	from := m.Wallet(alice, "EUR")
	m.Wallet(bob, "EUR")
	m.Deposit(from, 10_000, "EUR")
	env.ExecSQL("UPDATE users SET twofa_enabled = true WHERE id = $1", alice.ID)
	if err := stepup.New(env.Cache()).Grant(context.Background(), alice.TokenID); err != nil {
		t.Fatal(err)
	}
	return env, rcv, logs, func() *testkit.Resp {
		r := m.Transfer(alice, from, bob.Username, 250, "EUR")
		if r.Status != 201 {
			t.Fatalf("transfer: %d %s", r.Status, r.Body)
		}
		return r
	}
}

// attr returns a span attribute as text ("" if absent).
func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			switch v := kv.Value.Value.(type) {
			case *commonpb.AnyValue_StringValue:
				return v.StringValue
			case *commonpb.AnyValue_IntValue:
				return strconv.FormatInt(v.IntValue, 10)
			}
		}
	}
	return ""
}

// One transfer over HTTP is one trace: the request span, its SQL statements (authentication,
// before the batch) and its Redis call (the step-up grant) as descendants, the ledger batch span
// as its child with the batch's SQL beneath it and a link back to the request; the access log
// line carries the same trace id.
func TestTracingOneTransferIsOneTrace(t *testing.T) {
	env, rcv, logs, transfer := tracedEnv(t, 1)
	rid := transfer().Header.Get("X-Request-Id")
	env.FlushTraces()

	var req *tracepb.Span
	for _, s := range rcv.Spans() {
		if s.Name == "POST /api/v1/transfers" && attr(s, "flowxi.request_id") == rid {
			req = s
		}
	}
	if req == nil {
		t.Fatalf("no request span with flowxi.request_id %s among %d spans", rid, len(rcv.Spans()))
	}
	if req.Kind != tracepb.Span_SPAN_KIND_SERVER || attr(req, "http.response.status_code") != "201" || attr(req, "flowxi.operation") != "CreateTransfer" {
		t.Fatalf("request span: kind %v, attributes %v", req.Kind, req.Attributes)
	}
	byID := map[string]*tracepb.Span{}
	for _, s := range rcv.Spans() {
		if string(s.TraceId) == string(req.TraceId) {
			byID[string(s.SpanId)] = s
		}
	}
	// under reports whether s descends from anc within the trace.
	under := func(s, anc *tracepb.Span) bool {
		for p := byID[string(s.ParentSpanId)]; p != nil; p = byID[string(p.ParentSpanId)] {
			if p == anc {
				return true
			}
		}
		return false
	}
	var batch *tracepb.Span
	for _, s := range byID {
		if s.Name == "ledger.batch" {
			batch = s
		}
	}
	if batch == nil || string(batch.ParentSpanId) != string(req.SpanId) {
		t.Fatalf("ledger.batch: %v (want a child of the request span)", batch)
	}
	if attr(batch, "flowxi.batch.size") != "1" || attr(batch, "flowxi.batch.workers") == "" || len(batch.Links) != 1 || string(batch.Links[0].SpanId) != string(req.SpanId) {
		t.Fatalf("ledger.batch: attributes %v, links %v", batch.Attributes, batch.Links)
	}
	sqlUnderRequest, sqlUnderBatch, redisCalls := 0, 0, 0
	for _, s := range byID {
		switch attr(s, "db.system.name") + attr(s, "db.system") {
		case "postgresql":
			if !under(s, req) {
				t.Errorf("SQL span %s outside the request", s.Name)
			}
			if under(s, batch) {
				sqlUnderBatch++
			} else {
				sqlUnderRequest++
			}
		case "redis":
			if !under(s, req) {
				t.Errorf("Redis span %s outside the request", s.Name)
			}
			redisCalls++
		}
	}
	if sqlUnderRequest == 0 || sqlUnderBatch == 0 || redisCalls == 0 {
		t.Fatalf("trace: %d SQL spans under the request, %d under the batch, %d Redis spans; %d spans in all", sqlUnderRequest, sqlUnderBatch, redisCalls, len(byID))
	}
	if !hasSpanNamed(byID, "ClaimIdempotencyKeys") {
		t.Errorf("no SQL span named after its sqlc query (ClaimIdempotencyKeys)")
	}

	traceID := hex.EncodeToString(req.TraceId)
	line := logLine(t, logs, rid)
	if line["trace_id"] != traceID || line["span_id"] != hex.EncodeToString(req.SpanId) {
		t.Fatalf("access log line %v: want trace_id %s", line, traceID)
	}
}

func hasSpanNamed(spans map[string]*tracepb.Span, name string) bool {
	for _, s := range spans {
		if s.Name == name {
			return true
		}
	}
	return false
}

// logLine returns the access log line of the request rid.
func logLine(t *testing.T, logs *testkit.LogBuffer, rid string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == rid {
			return m
		}
	}
	t.Fatalf("no access log line for request %s", rid)
	return nil
}

// At ratio 0 nothing is sampled: not the requests, nor their SQL, Redis calls or batches, nor a
// background worker's statements.
func TestTracingRatioZeroExportsNothing(t *testing.T) {
	env, rcv, _, transfer := tracedEnv(t, 0)
	for i := 0; i < 5; i++ {
		transfer()
	}
	env.FlushTraces()
	if spans, exports := rcv.Count(); spans != 0 || exports != 0 {
		t.Fatalf("ratio 0: %d spans in %d exports", spans, exports)
	}
}

// Tracing off (the default) installs nothing: a no-op provider, no pgx tracer on the pool, no
// request span (the access log line has no trace id).
func TestTracingOffInstallsNothing(t *testing.T) {
	logs := &testkit.LogBuffer{}
	env := testkit.NewWithLog(t, logs)
	if env.Parts().Tracing.On() {
		t.Fatal("tracing on by default")
	}
	if _, ok := env.Parts().Tracing.Provider().(noop.TracerProvider); !ok {
		t.Fatalf("provider %T, want the no-op one", env.Parts().Tracing.Provider())
	}
	if tr := env.DB().Config().ConnConfig.Tracer; tr != nil {
		t.Fatalf("pool tracer %T installed with tracing off", tr)
	}
	u := env.CreateUser()
	r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/devices", Token: u.Token})
	if r.Status != 200 {
		t.Fatalf("devices: %d", r.Status)
	}
	if line := logLine(t, logs, r.Header.Get("X-Request-Id")); line["trace_id"] != nil {
		t.Fatalf("trace_id logged with tracing off: %v", line)
	}
}

// With DATABASE_READ_URL set (here a second pool on the same database: not in recovery, so
// within any lag bound), a wallet history page is read through the replica's pool, and its
// statements are traced like the primary's: the history query's SQL span is a descendant of
// the request span.
func TestTracingReplicaReadsAreTraced(t *testing.T) {
	rcv := testkit.StartOTLPReceiver(t, true)
	env := testkit.New(t, func(c *config.Config) {
		c.TracingEnabled, c.TracingSampleRatio, c.OTLPEndpoint = true, 1, rcv.URL
		c.DatabaseReadURL, c.DatabaseReadMaxLag = c.DatabaseURL, time.Minute
	})
	reads := env.Parts().Reads
	if reads == nil || !reads.OnReplica() {
		t.Fatalf("reads %v: want served by the DATABASE_READ_URL pool", reads)
	}
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	u := env.CreateUser()
	w := m.Wallet(u, "EUR")
	m.Deposit(w, 500, "EUR")
	r := env.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/wallets/%d/transactions", w), Token: u.Token})
	if r.Status != 200 || !reads.OnReplica() {
		t.Fatalf("history: %d %s (on the replica: %v)", r.Status, r.Body, reads.OnReplica())
	}
	rid := r.Header.Get("X-Request-Id")
	env.FlushTraces()
	var req *tracepb.Span
	for _, s := range rcv.Spans() {
		if attr(s, "flowxi.request_id") == rid && s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			req = s
		}
	}
	if req == nil {
		t.Fatalf("no request span with flowxi.request_id %s among %d spans", rid, len(rcv.Spans()))
	}
	byID := map[string]*tracepb.Span{}
	for _, s := range rcv.Spans() {
		if string(s.TraceId) == string(req.TraceId) {
			byID[string(s.SpanId)] = s
		}
	}
	for _, s := range byID {
		if s.Name != "ListWalletHistory" {
			continue
		}
		for p := byID[string(s.ParentSpanId)]; p != nil; p = byID[string(p.ParentSpanId)] {
			if p == req {
				return
			}
		}
	}
	t.Fatalf("no SQL span ListWalletHistory under the history request (%d spans in its trace)", len(byID))
}
