package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func record(t *testing.T, env *testkit.Env, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := env.Store().Tx(ctx, func(q *db.Queries) error {
				return audit.Record(ctx, q, env.Clock.Now(), audit.Event{Action: "test.event", Details: map[string]any{"i": i, "b": "x"}})
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
}

func TestChainSealsAndDetectsTampering(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	record(t, env, 40)
	// Concurrent sealing (the background sealer runs too): every row sealed exactly once.
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := env.SealAudit(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Rows become sealable once every transaction older than theirs has ended, in any database of
	// the server (pg_snapshot_xmin): other packages' tests run beside this one, so keep sealing
	// until the 40 rows are in (the rule itself is what the bench and the stale check rely on).
	var rep audit.Report
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := env.SealAudit(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if rep, err = env.VerifyAudit(ctx, env.Clock.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
		if rep.Checked >= 40 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !rep.OK() || rep.Checked < 40 {
		t.Fatalf("intact chain reported %+v", rep)
	}

	// The table refuses updates and deletes.
	const fifth = "(SELECT id FROM audit_events ORDER BY txid, id OFFSET 4 LIMIT 1)" // chain position 5
	if err := env.TryExecSQL("UPDATE audit_events SET action = 'x' WHERE id = " + fifth); err == nil {
		t.Fatal("update of a sealed row was accepted")
	}
	if err := env.TryExecSQL("DELETE FROM audit_events WHERE id = " + fifth); err == nil {
		t.Fatal("delete was accepted")
	}
	if err := env.TryExecSQL("UPDATE audit_events SET txid = txid WHERE id = " + fifth); err == nil {
		t.Fatal("moving a row in the chain was accepted")
	}
	if err := env.TryExecSQL("UPDATE audit_seals SET hashes = hashes WHERE seq = 1"); err == nil {
		t.Fatal("a seal was changed")
	}
	if err := env.TryExecSQL("DELETE FROM audit_seals"); err == nil {
		t.Fatal("seals were deleted")
	}
	if err := env.TryExecSQL("TRUNCATE audit_events"); err == nil {
		t.Fatal("truncate was accepted")
	}
	// Rows are frozen before sealing too: the table is insert-only.
	var unsealed int64
	if err := env.QueryRow(`INSERT INTO audit_events (actor_type, action) VALUES ('system', 'test.unsealed') RETURNING id`).Scan(&unsealed); err != nil {
		t.Fatal(err)
	}
	if err := env.TryExecSQL("UPDATE audit_events SET details = '{\"x\":1}' WHERE id = $1", unsealed); err == nil {
		t.Fatal("an unsealed row's content was changed")
	}

	// A superuser bypassing the trigger is still caught by the chain.
	conn, err := env.DB().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var id int64
	var original string
	if err := conn.QueryRow(ctx, "SELECT id, details::text FROM audit_events ORDER BY txid, id OFFSET 16 LIMIT 1").Scan(&id, &original); err != nil {
		t.Fatal(err)
	}
	bypass := func(details string) {
		for _, sql := range []string{
			"SET session_replication_role = replica",
			fmt.Sprintf(`UPDATE audit_events SET details = '%s' WHERE id = %d`, details, id),
			"SET session_replication_role = origin",
		} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	bypass(`{"i": 999}`)
	// The package database is shared by the package's tests: put the row back afterwards.
	defer bypass(original)
	rep, err = env.VerifyAudit(ctx, env.Clock.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rep.BrokenSeq != 17 || rep.BrokenID != id {
		t.Fatalf("tampering not reported at seq 17: %+v", rep)
	}
}

func TestVerifyFlagsStaleUnsealedRows(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	env.StopWorkers() // stop the background sealer so the row stays unsealed
	record(t, env, 1)
	env.Clock.Advance(10 * time.Minute)
	rep, err := env.VerifyAudit(ctx, env.Clock.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rep.StaleUnsealed == 0 || rep.OK() {
		t.Fatalf("stale row not flagged: %+v", rep)
	}
}
