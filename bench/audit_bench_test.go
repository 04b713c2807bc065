package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
)

// BenchmarkLedgerAudit measures what the audit log costs a transfer: two servers on the same
// database, one writing an audit event for every money movement (as in production) and one with
// them off (config.BenchmarkLedgerAuditOff, refused in production), each with its own seeded
// wallets, measured in alternating phases (onOff); the sealer runs during the "on" phases as it
// does in production. Target: on ≥ 0.9 × off. Afterwards every audit row must be sealed and the
// chain must verify. Tunables: see newOnOff (prefix AUDIT).
func BenchmarkLedgerAudit(b *testing.B) {
	for i := 0; i < b.N; i++ {
		// The sealer runs at production's interval (tests seal more often to finish sooner).
		o := newOnOff(b, feature{name: "audit", prefix: "AUDIT", turnOff: func(c *config.Config) { c.BenchmarkLedgerAuditOff = true },
			both:    []func(*config.Config){func(c *config.Config) { c.AuditSealEvery = config.DefaultAuditSealEvery }},
			backlog: func(lb *lbBench) time.Duration { return sealBacklog(b, lb) },
			rows:    "SELECT count(*) FROM audit_events WHERE action LIKE 'ledger.transfer.%'"})
		on := o.on
		m := o.run(b)

		// Everything gets sealed, and the chain verifies.
		sealBacklog(b, on)
		rep, err := on.env.VerifyAudit(context.Background(), time.Now(), time.Hour)
		if err != nil || !rep.OK() {
			b.Fatalf("audit verify: %+v %v", rep, err)
		}

		// Sealing appends one block per chunk and never updates a row (migration 00038).
		var blocks, updated int64
		if err := on.env.QueryRow(`SELECT (SELECT count(*) FROM audit_seals),
			(SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'audit_events')`).Scan(&blocks, &updated); err != nil {
			b.Fatal(err)
		}
		o.report(b, m, fmt.Sprintf("%d audit rows sealed in %d blocks and verified; %d rows updated", rep.Checked, blocks, updated))
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
