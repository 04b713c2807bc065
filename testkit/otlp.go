package testkit

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPReceiver is an in-process OTLP/HTTP trace collector: it decodes every export request
// (protobuf, as the server's otlptracehttp exporter sends it) and counts, or keeps, its spans.
// Point OTEL_EXPORTER_OTLP_ENDPOINT (config.OTLPEndpoint) at URL.
type OTLPReceiver struct {
	URL  string
	keep bool
	mu   sync.Mutex
	// spans are the spans received, kept only when keep is set (a benchmark only counts).
	spans   []*tracepb.Span
	count   int
	roots   int // spans without a parent: one per sampled trace
	exports int
}

// StartOTLPReceiver starts a receiver for the test; keep says whether to keep the spans (tests)
// or only count them (benchmarks).
func StartOTLPReceiver(t testing.TB, keep bool) *OTLPReceiver {
	r := &OTLPReceiver{keep: keep}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *OTLPReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v1/traces" || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(body)
	var msg coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &msg)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.exports++
	for _, rs := range msg.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			r.count += len(ss.Spans)
			for _, sp := range ss.Spans {
				if len(sp.ParentSpanId) == 0 {
					r.roots++
				}
			}
			if r.keep {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// Spans returns the spans kept so far.
func (r *OTLPReceiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// Count returns how many spans were received, and in how many export requests.
func (r *OTLPReceiver) Count() (spans, exports int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count, r.exports
}

// Roots returns how many root spans (traces) were received.
func (r *OTLPReceiver) Roots() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roots
}

// FlushTraces exports every span the server has ended so far (a no-op with tracing off).
func (e *Env) FlushTraces() {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.parts.Tracing.ForceFlush(ctx); err != nil {
		e.T.Fatalf("flush traces: %v", err)
	}
}
