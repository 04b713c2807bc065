package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
)

// BenchmarkLedgerAudit measures what the audit log costs a transfer: two servers on the same
// database, one writing an audit event for every money movement (as in production) and one with
// them off (config.BenchmarkLedgerAuditOff, refused in production), each with its own seeded
// wallets. Phases alternate (off, on, on, off, …) so that drift on a shared machine cancels out;
// the sealer runs during the "on" phases as it does in production. Target: on ≥ 0.9 × off.
// Afterwards every audit row must be sealed and the chain must verify.
// Tunables: LEDGER_BENCH_CLIENTS (16), AUDIT_BENCH_PHASE (5s), LEDGER_BENCH_WALLETS (10000),
// AUDIT_BENCH_ROUNDS (10: each round is one phase per mode; on 2 shared cores one round's pair of
// phases alone can be 10–20 % apart either way — the report lists them — so the ratio is taken
// over many rounds; shorter phases measured noisier, not better).
func BenchmarkLedgerAudit(b *testing.B) {
	clients := lbEnvInt("LEDGER_BENCH_CLIENTS", 16)
	phase := lbEnvDur("AUDIT_BENCH_PHASE", 5*time.Second)
	nWallets := lbEnvInt("LEDGER_BENCH_WALLETS", 10_000)
	rounds := lbEnvInt("AUDIT_BENCH_ROUNDS", 10)
	for i := 0; i < b.N; i++ {
		// The sealer runs at production's interval (tests seal more often to finish sooner).
		prodSeal := func(c *config.Config) { c.AuditSealEvery = config.DefaultAuditSealEvery }
		on := lbSetup(b, clients, nWallets, prodSeal)
		off := lbSetup(b, clients, nWallets, prodSeal, func(c *config.Config) { c.BenchmarkLedgerAuditOff = true })
		ctx := context.Background()
		// The package database may hold other benchmarks' rows: count what this one adds.
		counts := func() (audited, moved int64) {
			if err := on.env.QueryRow(`SELECT (SELECT count(*) FROM audit_events WHERE action LIKE 'ledger.transfer.%'),
				(SELECT count(*) FROM ledger_transactions WHERE kind = 'transfer')`).Scan(&audited, &moved); err != nil {
				b.Fatal(err)
			}
			return audited, moved
		}
		// Warm-up, not measured: both servers' first requests (connections, plans, caches, the
		// audit table's first pages) would otherwise fall in the first round's phases.
		for _, lb := range []*lbBench{off, on} {
			if res := lb.measure(phase/2, clients, lb.spreadOp(false)); res.errors > 0 {
				b.Fatalf("audit bench warm-up: %d errors, first: %s", res.errors, res.firstErr)
			}
		}
		sealBacklog(b, on)
		auditedBefore, movedBefore := counts()

		total := map[bool]lbResult{true: {name: "audit on"}, false: {name: "audit off"}}
		perRound := make([][2]float64, rounds) // ops/s off, on
		for r := 0; r < rounds; r++ {
			order := []bool{false, true}
			if r%2 == 1 {
				order = []bool{true, false}
			}
			for _, withAudit := range order {
				lb := off
				if withAudit {
					lb = on
				}
				res := lb.measure(phase, clients, lb.spreadOp(false))
				if withAudit {
					// Rows the sealer had not reached when the phase ended are the phase's work
					// too: seal them now and count the time (so none of it lands in an "off" phase).
					res.elapsed += sealBacklog(b, on)
				}
				if res.errors > 0 {
					b.Fatalf("audit bench (audit on: %v): %d errors, first: %s", withAudit, res.errors, res.firstErr)
				}
				if withAudit {
					perRound[r][1] = res.rate()
				} else {
					perRound[r][0] = res.rate()
				}
				t := total[withAudit]
				t.count += res.count
				t.elapsed += res.elapsed
				t.latencies = append(t.latencies, res.latencies...)
				total[withAudit] = t
			}
		}
		on.invariants(b)
		off.invariants(b)

		// The "on" server really audited every movement, and the "off" one none.
		audited, moved := counts()
		if want := total[true].count; audited-auditedBefore != want {
			b.Fatalf("audit on: %d audit events for %d transfers", audited-auditedBefore, want)
		}
		if moved-movedBefore != total[true].count+total[false].count {
			b.Fatalf("%d transfers recorded, %d acknowledged", moved-movedBefore, total[true].count+total[false].count)
		}

		// Everything gets sealed, and the chain verifies.
		sealBacklog(b, on)
		rep, err := on.env.VerifyAudit(ctx, time.Now(), time.Hour)
		if err != nil || !rep.OK() {
			b.Fatalf("audit verify: %+v %v", rep, err)
		}

		// Sealing appends one block per chunk and never updates a row (migration 00038).
		var blocks, updated int64
		if err := on.env.QueryRow(`SELECT (SELECT count(*) FROM audit_seals),
			(SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'audit_events')`).Scan(&blocks, &updated); err != nil {
			b.Fatal(err)
		}

		var out strings.Builder
		fmt.Fprintf(&out, "\n%-15s %10s %9s %9s\n", "spread, service", "ops/s", "p50", "p99")
		for _, mode := range []bool{false, true} {
			r := total[mode]
			p50, p99 := r.percentiles()
			fmt.Fprintf(&out, "%-15s %10.0f %9s %9s\n", r.name, r.rate(), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
		}
		// Each round's two phases are adjacent: their ratio shows how much of the spread is the
		// machine drifting rather than the audit log.
		fmt.Fprintf(&out, "per round (off, on, on/off):")
		for _, pr := range perRound {
			fmt.Fprintf(&out, " %.0f/%.0f=%.3f", pr[0], pr[1], pr[1]/pr[0])
		}
		fmt.Fprintln(&out)
		ratio := total[true].rate() / total[false].rate()
		fmt.Fprintf(&out, "audit on / off = %.3f (target ≥ 0.90); %d rounds of %s per mode, %d clients; %d audit rows sealed in %d blocks and verified; %d rows updated\n",
			ratio, rounds, phase, clients, rep.Checked, blocks, updated)
		b.Log(out.String())
		fmt.Print(out.String())
		b.ReportMetric(ratio, "audit-on/off")
	}
}

// sealBacklog seals every audit row written so far, at once, and returns how long it took.
// Rows still being written (a transaction open anywhere on the server) make it wait, at most
// two minutes.
func sealBacklog(b *testing.B, lb *lbBench) time.Duration {
	start := time.Now()
	for {
		if _, err := lb.env.SealAudit(context.Background()); err != nil {
			b.Fatal(err)
		}
		var n int64
		if err := lb.env.QueryRow(`SELECT count(*) FROM audit_events e JOIN audit_chain_head h ON h.id = 1 WHERE (e.txid, e.id) > (h.last_txid, h.last_id)`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return time.Since(start)
		}
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("%d audit rows still unsealed two minutes after the load", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
