package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// The write path has no foreign keys (migration 00032): `ledger check` is what catches an entry
// or a transaction pointing at a missing row, and accounts refuse deletion outright.
func TestCheckReportsOrphansAndAccountsCannotBeDeleted(t *testing.T) {
	f := newFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser()
	wa, wb := f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(wa, 5_000, "EUR")
	if r := f.transfer(ada, randKey(), body(wa, bob.Username, 1_000, "EUR")); r.Status != 201 {
		t.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
	f.invariants()
	ctx := context.Background()
	pool := f.DB()
	// The package database is shared by the package's tests (run one after another): remove the
	// planted rows afterwards, with triggers off as only a superuser can.
	t.Cleanup(func() {
		f.asSuperuser("DELETE FROM ledger_entries WHERE version = 1000", "DELETE FROM ledger_transactions WHERE to_account_id = 999999999")
		f.invariants()
	})

	if _, err := pool.Exec(ctx, "DELETE FROM ledger_accounts WHERE id = $1", wb); err == nil || !strings.Contains(err.Error(), "never deleted") {
		t.Fatalf("deleting an account: %v", err)
	}

	// An entry booked on an account its transaction does not name, and a transaction whose
	// destination does not exist (inserted behind the engine's back, as an attacker with SQL
	// access or a bug would).
	var txID int64
	if err := pool.QueryRow(ctx, "SELECT id FROM ledger_transactions WHERE kind = 'transfer' AND from_account_id = $1", wa).Scan(&txID); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO ledger_transactions (kind, status, currency, amount, from_account_id, to_account_id,
		initiator_type, initiator_id, created_at, failure_code) VALUES ('transfer', 'failed', 'EUR', 1, $1, 999999999, 'user', '0', now(), 'INSUFFICIENT_FUNDS')`, wa); err != nil {
		t.Fatal(err)
	}
	v := checkViolations(t, f)
	if !strings.Contains(v, "transaction ") || !strings.Contains(v, "999999999") {
		t.Fatalf("a transaction to a missing account is not reported: %s", v)
	}
	var other int64
	if err := pool.QueryRow(ctx, "SELECT id FROM ledger_accounts WHERE kind = 'settlement' AND currency = 'EUR'").Scan(&other); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, version, prev_hash, hash, created_at)
		VALUES ($1, $2, 1, 1, 1000, '\x00', '\x00', now())`, txID, other); err != nil {
		t.Fatal(err)
	}
	if v := checkViolations(t, f); !strings.Contains(v, "entry_transaction") {
		t.Fatalf("an entry on an account its transaction does not name is not reported: %s", v)
	}
}

func checkViolations(t *testing.T, f *fixture) string {
	t.Helper()
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/internal/ledger/check", Headers: map[string]string{"X-Internal-Key": f.Key}})
	if r.Status != 200 || testkit.Decode[api.LedgerCheckResponse](t, r).Data.Ok {
		t.Fatalf("check endpoint should report violations: %d %s", r.Status, r.Body)
	}
	return string(r.Body)
}
