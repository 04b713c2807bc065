package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
)

// onOff measures what one feature costs the ledger's spread scenario: two seeded servers on the
// same database, one with the feature on (as in production) and one with it off, measured in
// alternating phases (off, on, on, off, …) so that drift on a shared machine cancels out. The
// audit log and the domain events are measured this way.
type onOff struct {
	feature         string // "audit", "events", "tracing"
	viaHTTP         bool   // the spread scenario over HTTP (else through the service)
	target          float64
	on, off         *lbBench
	phase           time.Duration
	clients, rounds int
	hasRows         bool // the feature writes rows (feature.rows), checked after the phases
	// backlog finishes the "on" server's background share of a phase's work (sealing audit rows,
	// positioning events) and returns how long it took: that time counts into the phase, so none
	// of it lands in an "off" phase.
	backlog func() time.Duration
	// rows counts the feature's rows for transfers (audit rows, events) and the transfers in
	// the database, which may hold other benchmarks' rows: run checks that what the phases added
	// is one row per transfer of the "on" phases, and every acknowledged transfer.
	rows func() (featured, moved int64)
}

// feature is what an on/off benchmark needs to know of the feature it measures.
type feature struct {
	name, prefix string                       // "audit", "AUDIT": the tunables' prefix
	turnOff      func(*config.Config)         // the setting that turns it off
	both         []func(*config.Config)       // settings of both servers
	backlog      func(*lbBench) time.Duration // see onOff.backlog
	rows         string                       // SQL counting its rows for transfers (one per transfer; "": none)
	viaHTTP      bool                         // measure the spread scenario over HTTP
	target       float64                      // the on/off ratio aimed at (0: 0.90)
}

// newOnOff seeds the two servers of a feature's benchmark. Tunables: LEDGER_BENCH_CLIENTS (16),
// <PREFIX>_BENCH_PHASE (5s), LEDGER_BENCH_WALLETS (10000), <PREFIX>_BENCH_ROUNDS (10: each round
// is one phase per mode; on 2 shared cores one round's pair of phases alone can be 10–20 % apart
// either way — the report lists them — so the ratio is taken over many rounds; shorter phases
// measured noisier, not better).
func newOnOff(b *testing.B, f feature) onOff {
	o := onOff{feature: f.name, clients: lbEnvInt("LEDGER_BENCH_CLIENTS", 16), phase: lbEnvDur(f.prefix+"_BENCH_PHASE", 5*time.Second),
		rounds: lbEnvInt(f.prefix+"_BENCH_ROUNDS", 10), viaHTTP: f.viaHTTP, target: f.target}
	if o.target == 0 {
		o.target = 0.90
	}
	wallets := lbEnvInt("LEDGER_BENCH_WALLETS", 10_000)
	o.on = lbSetup(b, o.clients, wallets, f.both...)
	o.off = lbSetup(b, o.clients, wallets, append(f.both, f.turnOff)...)
	o.backlog = func() time.Duration { return f.backlog(o.on) }
	o.hasRows = f.rows != ""
	rows := f.rows
	if rows == "" {
		rows = "SELECT 0"
	}
	o.rows = func() (featured, moved int64) {
		if err := o.on.env.QueryRow(`SELECT (`+rows+`), (SELECT count(*) FROM ledger_transactions WHERE kind = 'transfer')`).Scan(&featured, &moved); err != nil {
			b.Fatal(err)
		}
		return featured, moved
	}
	return o
}

// onOffRun is what onOff.run measured.
type onOffRun struct {
	total    map[bool]lbResult // by "on"
	perRound [][2]float64      // ops/s off, on
}

// run warms both servers up (not measured: connections, plans, caches, the tables' first
// pages), then measures rounds × one phase per mode.
func (o onOff) run(b *testing.B) onOffRun {
	for _, lb := range []*lbBench{o.off, o.on} {
		if res := lb.measure(o.phase/2, o.clients, lb.spreadOp(o.viaHTTP)); res.errors > 0 {
			b.Fatalf("%s bench warm-up: %d errors, first: %s", o.feature, res.errors, res.firstErr)
		}
	}
	o.backlog()
	featuredBefore, movedBefore := o.rows()
	out := onOffRun{total: map[bool]lbResult{true: {name: o.feature + " on"}, false: {name: o.feature + " off"}},
		perRound: make([][2]float64, o.rounds)}
	for r := 0; r < o.rounds; r++ {
		order := []bool{false, true}
		if r%2 == 1 {
			order = []bool{true, false}
		}
		for _, on := range order {
			lb := o.off
			if on {
				lb = o.on
			}
			res := lb.measure(o.phase, o.clients, lb.spreadOp(o.viaHTTP))
			if on {
				res.elapsed += o.backlog()
			}
			if res.errors > 0 {
				b.Fatalf("%s bench (%s on: %v): %d errors, first: %s", o.feature, o.feature, on, res.errors, res.firstErr)
			}
			if on {
				out.perRound[r][1] = res.rate()
			} else {
				out.perRound[r][0] = res.rate()
			}
			t := out.total[on]
			t.count += res.count
			t.elapsed += res.elapsed
			t.latencies = append(t.latencies, res.latencies...)
			out.total[on] = t
		}
	}
	o.on.invariants(b)
	o.off.invariants(b)
	// The "on" server really wrote one row for every transfer, and the "off" one none.
	featured, moved := o.rows()
	if want := out.total[true].count; o.hasRows && featured-featuredBefore != want {
		b.Fatalf("%s on: %d rows for %d transfers", o.feature, featured-featuredBefore, want)
	}
	if n := out.total[true].count + out.total[false].count; moved-movedBefore != n {
		b.Fatalf("%d transfers recorded, %d acknowledged", moved-movedBefore, n)
	}
	return out
}

// report prints the figures (detail: what the benchmark checked afterwards) and returns on/off.
func (o onOff) report(b *testing.B, m onOffRun, detail string) float64 {
	var out strings.Builder
	via := "service"
	if o.viaHTTP {
		via = "HTTP"
	}
	fmt.Fprintf(&out, "\n%-15s %10s %9s %9s\n", "spread, "+via, "ops/s", "p50", "p99")
	for _, mode := range []bool{false, true} {
		r := m.total[mode]
		p50, p99 := r.percentiles()
		fmt.Fprintf(&out, "%-15s %10.0f %9s %9s\n", r.name, r.rate(), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
	// Each round's two phases are adjacent: their ratio shows how much of the spread is the
	// machine drifting rather than the feature.
	fmt.Fprintf(&out, "per round (off, on, on/off):")
	for _, pr := range m.perRound {
		fmt.Fprintf(&out, " %.0f/%.0f=%.3f", pr[0], pr[1], pr[1]/pr[0])
	}
	fmt.Fprintln(&out)
	ratio := m.total[true].rate() / m.total[false].rate()
	fmt.Fprintf(&out, "%s on / off = %.3f (target ≥ %.2f); %d rounds of %s per mode, %d clients; %s\n",
		o.feature, ratio, o.target, o.rounds, o.phase, o.clients, detail)
	b.Log(out.String())
	fmt.Print(out.String())
	b.ReportMetric(ratio, o.feature+"-on/off")
	return ratio
}
