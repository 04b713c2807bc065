package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// reverse asks for a reversal of transaction id with an idempotency key (fresh when "").
func (f *fixture) reverse(key string, id, amount int64, reason string) *testkit.Resp {
	f.T.Helper()
	if key == "" {
		key = randKey()
	}
	return f.internal("POST", fmt.Sprintf("/api/v1/internal/transactions/%d/reverse", id), key, map[string]any{"amount": amount, "reason": reason})
}

// depositID credits a wallet and returns the deposit's transaction id.
func (f *fixture) depositID(wallet, amount int64) int64 {
	f.T.Helper()
	r := f.depositReq(randKey(), wallet, amount, "EUR", "dep-"+randKey())
	if r.Status != 201 {
		f.T.Fatalf("deposit: %d %s", r.Status, r.Body)
	}
	return f.tx(r).Id
}

// deposited creates a user with an EUR wallet credited by a deposit of amount, and returns the
// user, the wallet and the deposit.
func (f *fixture) deposited(amount int64) (testkit.User, int64, int64) {
	f.T.Helper()
	u := f.CreateUser()
	w := f.Wallet(u, "EUR")
	return u, w, f.depositID(w, amount)
}

// view is a transaction as one of its parties sees it (GET /transfers/{id}).
func (f *fixture) view(u testkit.User, id int64) api.Transaction {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/transfers/%d", id), Token: u.Token})
	if r.Status != 200 {
		f.T.Fatalf("view %d: %d %s", id, r.Status, r.Body)
	}
	return f.tx(r)
}

// history is the first page (up to 100 items) of a wallet's history.
func (f *fixture) history(u testkit.User, wallet int64) []api.HistoryItem {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/wallets/%d/transactions?limit=100", wallet), Token: u.Token})
	if r.Status != 200 {
		f.T.Fatalf("history: %d %s", r.Status, r.Body)
	}
	return testkit.Decode[api.HistoryResponse](f.T, r).Data.Items
}

// A mistaken deposit is reversed in two parts up to its amount, then no further: each reversal
// is a new transaction linked to the original, which shows what was moved back and by which
// reversals; the history shows all of them; every posting is audited with the reason.
func TestReverseDepositInPartsUpToItsAmount(t *testing.T) {
	f := newFixture(t)
	u, w, dep := f.deposited(10_000)
	settlement := f.settlementBalance("EUR")

	first := f.reverse("", dep, 3_000, "  Credited   to the wrong wallet  ")
	if first.Status != 201 || first.Code() != "REVERSAL_POSTED" {
		t.Fatalf("partial reversal: %d %s", first.Status, first.Body)
	}
	r1 := f.tx(first)
	if r1.Kind != api.TransactionKindReversal || r1.Status != "posted" || !testkit.Is(r1.ReversesId, dep) || r1.Amount != 3_000 ||
		!testkit.Is(r1.FromWalletId, w) || r1.ToWalletId != nil || !testkit.Is(r1.FromUsername, u.Username) ||
		!testkit.Is(r1.Note, "Credited to the wrong wallet") {
		t.Fatalf("reversal: %s", first.Body)
	}
	second := f.reverse("", dep, 7_000, "rest of it")
	if second.Status != 201 {
		t.Fatalf("second reversal up to the amount: %d %s", second.Status, second.Body)
	}
	r2 := f.tx(second)
	beyond := f.reverse("", dep, 1, "one more cent")
	if beyond.Status != 409 || beyond.Code() != "REVERSAL_EXCEEDS_REMAINING" || f.tx(beyond).Status != "failed" ||
		!testkit.Is(f.tx(beyond).FailureCode, "REVERSAL_EXCEEDS_REMAINING") {
		t.Fatalf("beyond the amount: %d %s", beyond.Status, beyond.Body)
	}
	if b := f.Balance(w); b != 0 {
		t.Fatalf("wallet balance %d, want 0", b)
	}
	if s := f.settlementBalance("EUR"); s != settlement+10_000 {
		t.Fatalf("settlement %d, want %d", s, settlement+10_000)
	}
	orig := f.view(u, dep)
	if orig.Status != "posted" || orig.Amount != 10_000 || !testkit.Is(orig.ReversedAmount, 10_000) ||
		orig.ReversalIds == nil || !slices.Equal(*orig.ReversalIds, []int64{r1.Id, r2.Id}) {
		t.Fatalf("original after its reversals: %+v", orig)
	}
	if v := f.view(u, r1.Id); !testkit.Is(v.ReversesId, dep) || v.ReversedAmount != nil || v.ToWalletId != nil {
		t.Fatalf("a reversal's own view: %+v", v)
	}
	kinds := map[int64]string{}
	for _, h := range f.history(u, w) {
		kinds[h.TransactionId] = string(h.Kind) + "/" + string(h.Status)
	}
	if kinds[dep] != "deposit/posted" || kinds[r1.Id] != "reversal/posted" || kinds[r2.Id] != "reversal/posted" || kinds[f.tx(beyond).Id] != "reversal/failed" {
		t.Fatalf("history: %v", kinds)
	}
	var details string
	f.Scan("SELECT details::text FROM audit_events WHERE action = 'ledger.reversal.posted' AND subject_id = $1", []any{fmtInt(r1.Id)}, &details)
	var d map[string]any
	if err := json.Unmarshal([]byte(details), &d); err != nil || d["reverses"] != float64(dep) || d["reason"] != "Credited to the wrong wallet" || d["amount"] != float64(3_000) {
		t.Fatalf("audit details: %s", details)
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE action = 'ledger.reversal.failed' AND subject_id = $1", fmtInt(f.tx(beyond).Id)); n != 1 {
		t.Fatalf("%d audit rows for the refused reversal", n)
	}
	f.invariants()
}

// A transfer is reversed back to its sender; a settled withdrawal back to its wallet. Freezes,
// blocks and compliance do not stop a correction.
func TestReverseTransferAndWithdrawal(t *testing.T) {
	f := newFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser(testkit.WithoutKYC())
	wa, wb := f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(wa, 10_000, "EUR")
	tr := f.transfer(ada, randKey(), body(wa, bob.Username, 4_000, "EUR"))
	if tr.Status != 201 {
		t.Fatalf("transfer: %d %s", tr.Status, tr.Body)
	}
	f.setStatus(wb, "frozen")
	f.SetUserStatus(bob.ID, "blocked")
	r := f.reverse("", f.tx(tr).Id, 4_000, "sent by mistake")
	if r.Status != 201 {
		t.Fatalf("reversal of a transfer to a frozen wallet of a blocked, unverified user: %d %s", r.Status, r.Body)
	}
	rev := f.tx(r)
	if !testkit.Is(rev.FromWalletId, wb) || !testkit.Is(rev.ToWalletId, wa) || !testkit.Is(rev.FromUsername, bob.Username) || !testkit.Is(rev.ToUsername, ada.Username) {
		t.Fatalf("reversal sides: %s", r.Body)
	}
	if f.Balance(wa) != 10_000 || f.Balance(wb) != 0 {
		t.Fatalf("balances %d / %d", f.Balance(wa), f.Balance(wb))
	}
	if v := f.view(ada, f.tx(tr).Id); !testkit.Is(v.ReversedAmount, 4_000) {
		t.Fatalf("sender's view of the reversed transfer: %+v", v)
	}
	var seen bool
	for _, h := range f.history(ada, wa) {
		if h.TransactionId == rev.Id {
			seen = h.Amount == 4_000 && testkit.Is(h.Counterparty, bob.Username) && testkit.Is(h.BalanceAfter, 10_000)
		}
	}
	if !seen {
		t.Fatalf("the sender's history does not show the reversal coming back: %+v", f.history(ada, wa))
	}

	hold := f.Hold(wa, 2_500, "EUR")
	f.Settle(hold)
	r = f.reverse("", hold, 2_500, "payout bounced")
	if r.Status != 201 || f.tx(r).FromWalletId != nil || !testkit.Is(f.tx(r).ToWalletId, wa) || f.Balance(wa) != 10_000 {
		t.Fatalf("reversal of a settled withdrawal: %d %s (balance %d)", r.Status, r.Body, f.Balance(wa))
	}
	f.invariants()
}

// A reversal never takes a wallet below zero, pending holds included: the money was spent.
func TestReversalThatWouldOverdrawIsRefused(t *testing.T) {
	f := newFixture(t)
	u, peer := f.CreateUser(), f.CreateUser()
	w := f.Wallet(u, "EUR")
	f.Wallet(peer, "EUR")
	dep := f.depositID(w, 10_000)
	if r := f.transfer(u, randKey(), body(w, peer.Username, 8_000, "EUR")); r.Status != 201 {
		t.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
	f.Hold(w, 1_500, "EUR") // available: 500
	for _, amount := range []int64{10_000, 600} {
		r := f.reverse("", dep, amount, "mistake")
		if r.Status != 409 || r.Code() != "INSUFFICIENT_FUNDS" || f.tx(r).Status != "failed" {
			t.Fatalf("reversal of %d with 500 available: %d %s", amount, r.Status, r.Body)
		}
	}
	if b, p := f.balancePending(w); b != 2_000 || p != 1_500 {
		t.Fatalf("balance %d pending %d after refusals", b, p)
	}
	if r := f.reverse("", dep, 500, "what is left"); r.Status != 201 {
		t.Fatalf("reversal of the available 500: %d %s", r.Status, r.Body)
	}
	f.invariants()
}

// What can never be reversed records nothing: an unknown transaction, one that moved nothing
// (failed, pending, voided) and a reversal itself; a reason is mandatory free text.
func TestReversalRefusalsThatRecordNothing(t *testing.T) {
	f := newFixture(t)
	u, w, dep := f.deposited(1_000)
	failed := f.transfer(u, randKey(), body(w, "fx99999999", 10, "EUR"))
	pending := f.Hold(w, 100, "EUR")
	voided := f.Hold(w, 100, "EUR")
	f.finishReq(voided, "void")
	rev := f.tx(f.reverse("", dep, 10, "first"))
	before := f.Count("SELECT count(*) FROM ledger_transactions")
	for _, c := range []struct {
		id           int64
		status       int
		code, reason string
	}{
		{999_999_999, 404, "TRANSFER_NOT_FOUND", "unknown"},
		{f.tx(failed).Id, 409, "TRANSACTION_NOT_POSTED", "failed"},
		{pending, 409, "TRANSACTION_NOT_POSTED", "pending"},
		{voided, 409, "TRANSACTION_NOT_POSTED", "voided"},
		{rev.Id, 409, "TRANSACTION_NOT_REVERSIBLE", "a reversal"},
	} {
		if r := f.reverse("", c.id, 10, c.reason); r.Status != c.status || r.Code() != c.code || r.Data() != nil {
			t.Errorf("%s: %d %s", c.reason, r.Status, r.Body)
		}
	}
	for _, reason := range []string{"   ", "<script>", "a\u0007b", strings.Repeat("a", ledger.MaxReasonRunes+1)} {
		if r := f.reverse("", dep, 10, reason); r.Status != 422 || r.Errors()["reason"] == nil {
			t.Errorf("reason %q: %d %s", reason, r.Status, r.Body)
		}
	}
	if r := f.internal("POST", fmt.Sprintf("/api/v1/internal/transactions/%d/reverse", dep), "", map[string]any{"amount": 10, "reason": "x"}); r.Status != 422 {
		t.Errorf("without an Idempotency-Key: %d %s", r.Status, r.Body)
	}
	if after := f.Count("SELECT count(*) FROM ledger_transactions"); after != before {
		t.Fatalf("refusals recorded %d transactions", after-before)
	}
	f.invariants()
}

// The same key and body replays the stored outcome and moves nothing again; the same key with
// another body is refused.
func TestReversalIsIdempotent(t *testing.T) {
	f := newFixture(t)
	_, w, dep := f.deposited(5_000)
	key := randKey()
	first := f.reverse(key, dep, 2_000, "mistake")
	again := f.reverse(key, dep, 2_000, "mistake")
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || f.tx(again).Id != f.tx(first).Id {
		t.Fatalf("replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	if r := f.reverse(key, dep, 2_500, "mistake"); r.Status != 422 || r.Code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("same key, other amount: %d %s", r.Status, r.Body)
	}
	if b := f.Balance(w); b != 3_000 {
		t.Fatalf("balance %d after a replayed reversal", b)
	}
	f.invariants()
}

// Many concurrent reversals of one transaction, each with its own key: exactly as many pass as
// its amount allows, whichever batches they land in.
func TestConcurrentReversalsNeverExceedTheOriginal(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser()
	w := f.Wallet(u, "EUR")
	f.Deposit(w, 1_000, "EUR") // so that the wallet could afford more than the deposit
	dep := f.depositID(w, 10_000)
	var posted, exceeded atomic.Int64
	inParallel(30, 15, func(i int) {
		r := f.reverse("", dep, 1_000, fmt.Sprintf("part %d", i))
		switch {
		case r.Status == 201:
			posted.Add(1)
		case r.Status == 409 && r.Code() == "REVERSAL_EXCEEDS_REMAINING":
			exceeded.Add(1)
		default:
			t.Errorf("reversal %d: %d %s", i, r.Status, r.Body)
		}
	})
	if posted.Load() != 10 || exceeded.Load() != 20 {
		t.Fatalf("%d posted, %d refused; want 10 and 20", posted.Load(), exceeded.Load())
	}
	if b := f.Balance(w); b != 1_000 {
		t.Fatalf("balance %d, want 1000", b)
	}
	if v := f.view(u, dep); !testkit.Is(v.ReversedAmount, 10_000) || len(*v.ReversalIds) != 10 {
		t.Fatalf("original: %+v", v)
	}
	f.invariants()
}

// Reversing takes ledger:admin: a key with every other ledger scope is refused before anything
// is read or written.
func TestReversalNeedsTheAdminScope(t *testing.T) {
	f := newFixture(t)
	_, w, dep := f.deposited(1_000)
	key := f.CreateInternalKey("no-admin-"+randKey()[:6], ledger.ScopeDeposit, ledger.ScopeWithdraw, ledger.ScopeRead)
	r := f.internalAs(key, "POST", fmt.Sprintf("/api/v1/internal/transactions/%d/reverse", dep), randKey(), map[string]any{"amount": 1_000, "reason": "x"})
	if r.Status != 403 || r.Code() != "FORBIDDEN" || f.Balance(w) != 1_000 {
		t.Fatalf("without ledger:admin: %d %s", r.Status, r.Body)
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE reverses_id = $1", dep); n != 0 {
		t.Fatalf("%d reversals recorded", n)
	}
}

// `ledger check` reports a transaction reversed beyond its amount, a reversal that does not
// mirror its original, and an entry posted before the one it follows (planted behind the
// engine's back, as a bug or someone with SQL access would).
func TestCheckReportsOverReversalAndEntriesBackInTime(t *testing.T) {
	f := newFixture(t)
	_, w, dep := f.deposited(1_000)
	if r := f.reverse("", dep, 600, "part"); r.Status != 201 {
		t.Fatalf("reversal: %d %s", r.Status, r.Body)
	}
	f.invariants()
	t.Cleanup(func() {
		f.asSuperuser(
			"DELETE FROM ledger_entries WHERE version = 1000 AND account_id = "+fmtInt(w),
			"DELETE FROM ledger_transactions WHERE initiator_id = 'planted'")
		f.invariants()
	})
	// Another 600 "reversed" in a row of its own: 1 200 of a 1 000 deposit, and its accounts
	// the original's, not swapped.
	f.ExecSQL(`INSERT INTO ledger_transactions (kind, status, currency, amount, from_account_id, to_account_id, initiator_type,
		initiator_id, created_at, reverses_id) SELECT 'reversal', 'posted', currency, 600, from_account_id, to_account_id,
		'internal_key', 'planted', now(), id FROM ledger_transactions WHERE id = $1`, dep)
	f.ExecSQL(`INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, version, prev_hash, hash, created_at)
		VALUES ($1, $2, 1, 1, 1000, '\x00', '\x00', '2000-01-01')`, dep, w)
	v := checkViolations(t, f)
	for _, want := range []string{fmt.Sprintf("transaction %d: reversed by 1200, more than its amount 1000", dep), "does not mirror a posted transaction",
		"version 1000 posted at 2000-01-01T00:00:00.000000Z, before version 999"} {
		if !strings.Contains(v, want) {
			t.Errorf("not reported: %q in %s", want, v)
		}
	}
}

// asSuperuser runs statements on one connection with triggers off (removing planted rows from
// the package's shared database).
func (f *fixture) asSuperuser(stmts ...string) {
	f.T.Helper()
	ctx := context.Background()
	conn, err := f.DB().Acquire(ctx)
	if err != nil {
		f.T.Fatal(err)
	}
	defer conn.Release()
	for _, sql := range append(append([]string{"SET session_replication_role = replica"}, stmts...), "SET session_replication_role = origin") {
		if _, err := conn.Exec(ctx, sql); err != nil {
			f.T.Fatalf("%s: %v", sql, err)
		}
	}
}
