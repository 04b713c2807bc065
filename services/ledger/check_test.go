package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// The write path has no foreign keys (migration 00032): `ledger check` is what catches an entry
// or a transaction pointing at a missing row, and accounts refuse deletion outright.
func TestCheckReportsOrphansAndAccountsCannotBeDeleted(t *testing.T) {
	f := newFixture(t)
	ada, bob, wa, wb := f.checkPair()
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

// checkPair makes the two users the check tests tamper with: ada's EUR wallet holds 5 000, bob's
// is empty.
func (f *fixture) checkPair() (ada, bob testkit.User, wa, wb int64) {
	f.T.Helper()
	ada, bob = f.CreateUser(), f.CreateUser()
	wa, wb = f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(wa, 5_000, "EUR")
	return ada, bob, wa, wb
}

func checkViolations(t *testing.T, f *fixture) string {
	t.Helper()
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/internal/ledger/check", Headers: map[string]string{"X-Internal-Key": f.Key}})
	if r.Status != 200 || testkit.Decode[api.LedgerCheckResponse](t, r).Data.Ok {
		t.Fatalf("check endpoint should report violations: %d %s", r.Status, r.Body)
	}
	return string(r.Body)
}

// check runs the check endpoint (full or incremental) and decodes its answer.
func (f *fixture) check(full bool) api.LedgerCheckResponse {
	f.T.Helper()
	path := "/api/v1/internal/ledger/check"
	if full {
		path += "?full=true"
	}
	r := f.Do(testkit.Req{Method: "GET", Path: path, Headers: map[string]string{"X-Internal-Key": f.Key}})
	if r.Status != 200 {
		f.T.Fatalf("check: %d %s", r.Status, r.Body)
	}
	return testkit.Decode[api.LedgerCheckResponse](f.T, r)
}

// entryRow is what a test tampers with in an entry, and restores.
type entryRow struct {
	version, tx, amount, balance int64
	prev, hash                   []byte
	at                           time.Time
}

func (f *fixture) entries(account int64) []entryRow {
	f.T.Helper()
	rows := f.Query("SELECT version, transaction_id, amount, balance_after, prev_hash, hash, created_at FROM ledger_entries WHERE account_id = $1 ORDER BY version", account)
	defer rows.Close()
	var out []entryRow
	for rows.Next() {
		var e entryRow
		if err := rows.Scan(&e.version, &e.tx, &e.amount, &e.balance, &e.prev, &e.hash, &e.at); err != nil {
			f.T.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// rewrite replaces an account's entries (amount, balance, hashes) and its head hash behind the
// engine's back, as an attacker with SQL access would.
func (f *fixture) rewrite(account int64, rows []entryRow) {
	f.T.Helper()
	var stmts []string
	for _, e := range rows {
		stmts = append(stmts, fmt.Sprintf(`UPDATE ledger_entries SET amount = %d, balance_after = %d, prev_hash = '\x%x', hash = '\x%x'
			WHERE account_id = %d AND version = %d`, e.amount, e.balance, e.prev, e.hash, account, e.version))
	}
	last := rows[len(rows)-1]
	stmts = append(stmts, fmt.Sprintf(`UPDATE ledger_accounts SET last_hash = '\x%x' WHERE id = %d`, last.hash, account))
	f.asSuperuser(stmts...)
}

// An incremental check reads what came after its checkpoint (and only that), and finds an entry
// tampered with after the checkpoint.
func TestIncrementalCheckFindsTamperingAfterTheCheckpoint(t *testing.T) {
	f := newFixture(t)
	ada, bob, wa, wb := f.checkPair()
	f.mustTransfer(ada, wa, bob.Username, 100, "")
	full := f.check(true)
	if !full.Data.Ok || full.Data.Mode != api.LedgerCheckFull || full.Data.CheckpointId == nil {
		t.Fatalf("full check: %+v", full.Data)
	}
	f.mustTransfer(ada, wa, bob.Username, 200, "")
	inc := f.check(false)
	if !inc.Data.Ok || inc.Data.Mode != api.LedgerCheckIncremental || inc.Data.FromCheckpointId == nil ||
		*inc.Data.FromCheckpointId != *full.Data.CheckpointId || inc.Data.EntriesChecked != 2 {
		t.Fatalf("incremental check after one transfer: %+v (want the transfer's 2 entries, from checkpoint %d)", inc.Data, *full.Data.CheckpointId)
	}
	if again := f.check(false); !again.Data.Ok || again.Data.EntriesChecked != 0 {
		t.Fatalf("incremental check with nothing new: %+v", again.Data)
	}

	f.mustTransfer(ada, wa, bob.Username, 300, "")
	orig := f.entries(wb)
	t.Cleanup(func() { f.rewrite(wb, orig); f.invariants() })
	forged := append([]entryRow(nil), orig...)
	forged[len(forged)-1].amount++
	forged[len(forged)-1].balance++
	f.rewrite(wb, forged)
	r := f.check(false)
	v := strings.Join(r.Data.Violations, "\n")
	if r.Data.Ok || r.Data.Mode != api.LedgerCheckIncremental || r.Data.CheckpointId != nil ||
		!strings.Contains(v, fmt.Sprintf("account %d: hash chain broken at version %d", wb, forged[len(forged)-1].version)) {
		t.Fatalf("an entry tampered with after the checkpoint: %+v", r.Data)
	}
	if again := f.check(false); again.Data.Ok {
		t.Fatal("a failed check recorded a checkpoint: the next incremental check no longer sees the tampering")
	}
}

// The incremental check trusts its checkpoint: an old entry changed without its hash is found by
// the full check only; changed with its chain's hashes recomputed up to the head, it no longer
// carries the checkpointed hash, which the incremental check verifies on every account.
func TestFullCheckFindsTamperingBeforeTheCheckpoint(t *testing.T) {
	f := newFixture(t)
	ada, bob, wa, wb := f.checkPair()
	for _, a := range []int64{100, 200, 300} {
		f.mustTransfer(ada, wa, bob.Username, a, "")
	}
	if r := f.check(true); !r.Data.Ok {
		t.Fatalf("full check: %+v", r.Data)
	}
	orig := f.entries(wb)
	t.Cleanup(func() { f.rewrite(wb, orig); f.invariants() })

	// Version 1's amount and balance changed, hashes kept: nothing the incremental check reads.
	forged := append([]entryRow(nil), orig...)
	forged[0].amount, forged[0].balance = forged[0].amount+50, forged[0].balance+50
	f.rewrite(wb, forged)
	if r := f.check(false); !r.Data.Ok {
		t.Fatalf("the incremental check re-read rows its checkpoint covers: %+v", r.Data)
	}
	r := f.check(true)
	if v := strings.Join(r.Data.Violations, "\n"); r.Data.Ok || !strings.Contains(v, fmt.Sprintf("account %d: hash chain broken at version 1", wb)) {
		t.Fatalf("the full check misses an old entry tampered with: %+v", r.Data)
	}

	// The same change with the chain re-hashed to the head: the checkpointed entry's hash moved.
	prev := ledger.GenesisHash()
	for i := range forged {
		e := &forged[i]
		e.prev, e.hash = prev, ledger.EntryHash(prev, wb, e.version, e.tx, e.amount, e.balance, e.at)
		prev = e.hash
	}
	f.rewrite(wb, forged)
	r = f.check(false)
	if v := strings.Join(r.Data.Violations, "\n"); r.Data.Ok || !strings.Contains(v, fmt.Sprintf("account %d: entry %d no longer carries the hash verified", wb, orig[len(orig)-1].version)) {
		t.Fatalf("the incremental check misses a re-hashed chain: %+v", r.Data)
	}
}

// Each kind of tampering planted after a checkpoint is reported by the incremental check (the
// chain walk and its one statement over the transactions, CheckTransactionsSince) as it is by the
// full check.
func TestIncrementalCheckReportsWhatTheFullCheckReports(t *testing.T) {
	f := newFixture(t)
	ada, bob, wa, wb := f.checkPair()
	f.mustTransfer(ada, wa, bob.Username, 100, "")
	ctx := context.Background()
	var txID, head int64
	if err := f.DB().QueryRow(ctx, "SELECT t.id, a.version FROM ledger_transactions t JOIN ledger_accounts a ON a.id = t.to_account_id WHERE t.kind = 'transfer' AND t.from_account_id = $1", wa).Scan(&txID, &head); err != nil {
		t.Fatal(err)
	}
	const tx = `INSERT INTO ledger_transactions (kind, status, currency, amount, from_account_id, to_account_id, from_pos,
		initiator_type, initiator_id, created_at, failure_code) VALUES ('transfer', 'failed', 'EUR', 1, %d, %d, %s, 'user', 'check-test', now(), 'INSUFFICIENT_FUNDS')`
	const entry = `INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, version, prev_hash, hash, created_at)
		VALUES (%d, %d, 1, 1, %d, '\x00', '\x00', now())`
	cases := []struct {
		name, plant, undo, want string
	}{
		{"an entry on a missing account", fmt.Sprintf(entry, txID, 999_999_998, 1), "DELETE FROM ledger_entries WHERE account_id = 999999998", "999999998"},
		{"a transaction to a missing account", fmt.Sprintf(tx, wa, 999_999_999, "1"), "DELETE FROM ledger_transactions WHERE initiator_id = 'check-test'", "999999999"},
		{"a failed attempt at an entry's place", fmt.Sprintf(tx, wa, wb, "2"), "DELETE FROM ledger_transactions WHERE initiator_id = 'check-test'", "out of its history's order"},
		{"an entry above an unmoved head", fmt.Sprintf(entry, txID, wb, head+1), fmt.Sprintf("DELETE FROM ledger_entries WHERE account_id = %d AND version = %d", wb, head+1), fmt.Sprintf("account %d: balance", wb)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := f.check(true); !r.Data.Ok {
				t.Fatalf("full check before: %+v", r.Data)
			}
			if _, err := f.DB().Exec(ctx, c.plant); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.asSuperuser(c.undo); f.invariants() })
			for _, full := range []bool{false, true} {
				r := f.check(full)
				if v := strings.Join(r.Data.Violations, "\n"); r.Data.Ok || !strings.Contains(v, c.want) {
					t.Errorf("check (full %v) after %s: want %q in %+v", full, c.name, c.want, r.Data)
				}
			}
		})
	}
}
