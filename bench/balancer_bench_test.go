package bench

import (
	"fmt"
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
		ratios := map[string]string{}
		for _, r := range results {
			ratios[r.name] = fmt.Sprintf("%.2f × one instance", r.rate()/results[0].rate())
		}
		out := fmt.Sprintf("\nbalancer bench: %d clients, %s per phase, %d wallets", clients, phase, nWallets) + lbTable(results, ratios)
		b.Log(out)
		fmt.Print(out)
		b.ReportMetric(results[1].rate()/results[0].rate(), "haproxy1/direct")
		b.ReportMetric(results[2].rate()/results[0].rate(), "haproxy2/direct")
	}
}
