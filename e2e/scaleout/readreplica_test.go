package scaleout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// With DATABASE_READ_URL on a streaming standby, the security log is read there while the
// standby keeps up; when its replay stops (paused here, as a slow replica would), the lag
// passes DATABASE_READ_MAX_LAG and the same list is read from the primary, so it never shows
// more than the bound's worth of staleness; replay resumed, the replica serves again. Money
// never reads it: a transfer goes through while the replica is paused.
func TestLagTolerantReadsUseTheReplicaWithinTheBound(t *testing.T) {
	pair := testkit.StartPGPair(t)
	pair.Primary.CreateDatabase(t, "flowxi")
	env := testkit.New(t, func(c *config.Config) {
		c.DatabaseURL, c.SkipMigrations = pair.Primary.URL("flowxi"), false
		c.DatabaseReadURL, c.DatabaseReadMaxLag = pair.Standby.URL("flowxi"), 500*time.Millisecond
	})
	reads := env.Parts().Reads
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	u, to := env.CreateUser(), env.CreateUser()
	w := m.Wallet(u, "EUR")
	m.Wallet(to, "EUR")
	m.Deposit(w, 1000, "EUR")
	events := func() int {
		r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me/security-events?limit=100", Token: u.Token})
		if r.Status != 200 {
			t.Fatalf("security events: %d %s", r.Status, r.Body)
		}
		return len(testkit.Decode[api.SecurityEventsResponse](t, r).Data)
	}
	history := func() int {
		r := env.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/wallets/%d/transactions?limit=100", w), Token: u.Token})
		if r.Status != 200 {
			t.Fatalf("history: %d %s", r.Status, r.Body)
		}
		return len(testkit.Decode[api.HistoryResponse](t, r).Data.Items)
	}
	waitReads(t, reads.Check, reads.OnReplica, true)
	// The history's page is read on the standby: its own statistics count the index scans.
	scans := func() (n int64) {
		_ = reads.QueryRow(context.Background(), "SELECT pg_stat_clear_snapshot()").Scan(new(any))
		if err := reads.QueryRow(context.Background(),
			"SELECT COALESCE(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes WHERE relname = 'ledger_transactions'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := scans()
	if n := history(); n != 1 {
		t.Fatalf("history read on the replica: %d items, want the deposit", n)
	}
	for deadline := time.Now().Add(10 * time.Second); scans() <= base; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the history page did not scan the standby's ledger_transactions indexes: it was not read on the replica")
		}
	}
	var inRecovery bool
	if err := reads.QueryRow(context.Background(), "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("reads not on the standby: %v %v", inRecovery, err)
	}
	before := events()

	pair.Standby.Exec(t, "flowxi", "SELECT pg_wal_replay_pause()")
	r := login(env, u, u.Password, "en")
	if r.Status != 200 {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	u.Token = r.Data()["access_token"].(string) // the login replaced the device's token
	waitReads(t, reads.Check, reads.OnReplica, false)
	if n := events(); n <= before {
		t.Fatalf("replica past the bound: the list still misses the new login (%d ≤ %d events)", n, before)
	}
	if r := m.Transfer(u, w, to.Username, 100, "EUR"); r.Status != 201 {
		t.Fatalf("transfer while the replica lags: %d %s", r.Status, r.Body)
	}
	if n := history(); n != 2 {
		t.Fatalf("replica past the bound: the history (%d items) misses the transfer", n)
	}
	if _, body := readyz(t, env); !strings.Contains(body, "postgres-read primary") {
		t.Errorf("readyz does not say the reads moved to the primary: %q", body)
	}

	pair.Standby.Exec(t, "flowxi", "SELECT pg_wal_replay_resume()")
	waitReads(t, reads.Check, reads.OnReplica, true)
	if n := events(); n <= before {
		t.Fatalf("replica caught up but the list misses the login (%d ≤ %d)", n, before)
	}
	if n := history(); n != 2 {
		t.Fatalf("replica caught up but the history (%d items) misses the transfer", n)
	}
}

// waitReads re-measures the replica until the reads are (or are not) on it.
func waitReads(t *testing.T, check func(context.Context) error, onReplica func() bool, want bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); onReplica() != want; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("reads on the replica: %v, want %v", onReplica(), want)
		}
		_ = check(context.Background())
	}
}
