package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// BenchmarkLedgerBalancer measures the spread scenario over HTTP against server processes
// (the flowxi binary) on one database: one instance directly, one behind HAProxy (Debian's,
// round-robin; the balancer's own cost) and two behind it. On two cores two instances cannot
// scale; the point is that nothing breaks across instances and the balancer's overhead is
// measured (issue 18). Every transfer must succeed and the ledger invariants hold after each
// phase.
func BenchmarkLedgerBalancer(b *testing.B) {
	clients := lbEnvInt("LEDGER_BENCH_CLIENTS", 32)
	phase := lbEnvDur("LEDGER_BENCH_PHASE", 8*time.Second)
	nWallets := lbEnvInt("LEDGER_BENCH_WALLETS", 10_000)
	for i := 0; i < b.N; i++ {
		lb := lbSetup(b, clients, nWallets)
		one := testkit.StartProcess(b, lb.env.Cfg)
		two := testkit.StartProcess(b, lb.env.Cfg)
		targets := []struct{ name, url string }{
			{"spread, HTTP, one instance", one.URL},
			{"spread, HTTP, HAProxy → one", testkit.StartHAProxy(b, one.URL)},
			{"spread, HTTP, HAProxy → two", testkit.StartHAProxy(b, one.URL, two.URL)},
		}
		var results []lbResult
		for _, t := range targets {
			lb.url = t.url
			results = append(results, lb.scenario(b, t.name, phase, clients, lb.spreadOp(true)))
		}
		var out strings.Builder
		fmt.Fprintf(&out, "\nbalancer bench: %d clients, %s per phase, %d wallets\n%-30s %10s %9s %9s  %s\n",
			clients, phase, nWallets, "scenario", "ops/s", "p50", "p99", "ratio")
		for _, r := range results {
			p50, p99 := r.percentiles()
			fmt.Fprintf(&out, "%-30s %10.0f %9s %9s  %.2f × one instance\n", r.name, r.rate(),
				p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), r.rate()/results[0].rate())
		}
		b.Log(out.String())
		fmt.Print(out.String())
		b.ReportMetric(results[1].rate()/results[0].rate(), "haproxy1/direct")
		b.ReportMetric(results[2].rate()/results[0].rate(), "haproxy2/direct")
	}
}
