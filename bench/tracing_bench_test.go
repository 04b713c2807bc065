package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

// BenchmarkLedgerTracing measures what tracing costs a transfer over HTTP: the spread scenario
// over HTTP on two servers sharing one database, one with tracing on at TRACING_BENCH_RATIO
// (0.1) exporting every sampled span over OTLP/HTTP to a receiver in this process (which decodes
// them: the export is really paid), one with tracing off (nothing installed). Phases alternate
// as in BenchmarkLedgerAudit; flushing what an "on" phase left in the exporter's queue counts
// into that phase. Target: on ≥ 0.95 × off. Afterwards the receiver must have received spans,
// about one trace per sampled transfer. Tunables: see newOnOff (prefix TRACING).
func BenchmarkLedgerTracing(b *testing.B) {
	ratio := 0.1
	if v, err := strconv.ParseFloat(os.Getenv("TRACING_BENCH_RATIO"), 64); err == nil {
		ratio = v
	}
	for i := 0; i < b.N; i++ {
		rcv := testkit.StartOTLPReceiver(b, false)
		load := loadAverage()
		o := newOnOff(b, feature{name: "tracing", prefix: "TRACING", viaHTTP: true, target: 0.95,
			turnOff: func(c *config.Config) { c.TracingEnabled = false },
			both: []func(*config.Config){func(c *config.Config) {
				c.TracingEnabled, c.TracingSampleRatio, c.OTLPEndpoint = true, ratio, rcv.URL
			}},
			backlog: func(lb *lbBench) time.Duration {
				start := time.Now()
				lb.env.FlushTraces()
				return time.Since(start)
			}})
		m := o.run(b)
		o.on.env.FlushTraces()
		spans, exports := rcv.Count()
		traces := rcv.Roots()
		if spans == 0 || traces == 0 {
			b.Fatalf("tracing on: no span reached the OTLP receiver")
		}
		onTransfers := m.total[true].count
		o.report(b, m, fmt.Sprintf("ratio %.2f: %d traces (%.1f %% of the %d transfers of the on phases; the warm-up's traces included), %d spans (%.1f per trace) in %d OTLP exports; load average before %s, after %s",
			ratio, traces, 100*float64(traces)/float64(onTransfers), onTransfers, spans, float64(spans)/float64(traces), exports, load, loadAverage()))
	}
}

// loadAverage is the machine's 1, 5 and 15 minute load averages (shared with other work).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
