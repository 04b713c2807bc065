package ledger_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// state is one cell's situation of the wallet under test and its owner.
type state struct{ wallet, owner, compliance, restriction string }

// fires is the test's table of what each state-dependent rule of the money policy means, keyed
// by its code; the spec's table (read by ledger.SpecPolicy) says in which order the rules apply,
// on which side and with which status. Rules on amounts, currencies, limits and expiry never fire
// in the matrix (small amounts, one currency): their own tests cover them.
var fires = map[string]func(s state) bool{
	"WALLET_CLOSED":       func(s state) bool { return s.wallet == "closed" || s.owner == "closed" },
	"ACCOUNT_BLOCKED":     func(s state) bool { return s.owner == "blocked" },
	"WALLET_FROZEN":       func(s state) bool { return s.wallet == "frozen" },
	"ACCOUNT_RESTRICTED":  func(s state) bool { return s.restriction == "active" },
	"KYC_REQUIRED":        func(s state) bool { return s.compliance != "approved" },
	"RECIPIENT_NOT_FOUND": func(s state) bool { return s.wallet != "active" || s.owner != "active" },
}

// matrixOp is one operation of the matrix, with the spec column that governs the wallet under
// test and what success does to it.
type matrixOp struct {
	name, column string
	okStatus     int
	okCode       string
	dBal, dPend  int64 // change of the wallet's balance and pending amount on success
	newTx        bool  // success records a new transaction
}

var matrixOps = []matrixOp{
	{"transfer out", "transfer out", 201, "TRANSFER_COMPLETED", -50, 0, true},
	{"transfer in", "transfer in", 201, "TRANSFER_COMPLETED", 50, 0, true},
	{"deposit", "deposit", 201, "DEPOSIT_POSTED", 50, 0, true},
	{"hold", "hold", 201, "HOLD_CREATED", 0, 50, true},
	{"settle", "settle", 200, "HOLD_SETTLED", -100, -100, false},
	{"void", "void", 200, "HOLD_VOIDED", 0, -100, false},
	{"reversal out", "reversal out", 201, "REVERSAL_POSTED", -50, 0, true},
	{"reversal in", "reversal in", 201, "REVERSAL_POSTED", 50, 0, true},
}

// TestMoneyPolicyMatrix runs every operation against every state of a wallet and its owner
// (wallet × owner × compliance × restriction) and compares each answer with the spec's policy
// table: status and code, balances untouched by a refusal, the refusal recorded as the spec says,
// and the ledger consistent at the end.
func TestMoneyPolicyMatrix(t *testing.T) {
	f := newFixture(t)
	spec := ledger.SpecPolicy(t)
	sender, recipient := f.CreateUser(), f.CreateUser()
	ws := f.Wallet(sender, "EUR")
	f.Wallet(recipient, "EUR")
	f.Deposit(ws, 1_000_000, "EUR")
	cells := 0
	for _, w := range []string{"active", "frozen", "closed"} {
		for _, o := range []string{"active", "blocked", "closed"} {
			for _, c := range []string{"none", "submitted", "approved", "rejected"} {
				for _, r := range []string{"none", "active", "lifted"} {
					st := state{w, o, c, r}
					m := f.matrixWallet(st, recipient)
					for _, op := range matrixOps {
						f.matrixCell(spec, st, m, op, sender, ws, recipient)
						cells++
					}
				}
			}
		}
	}
	if cells != 3*3*4*3*len(matrixOps) {
		t.Fatalf("%d cells", cells)
	}
	f.invariants()
}

// matrixSubject is the wallet under test, its owner, two holds placed while it could still
// send (one to settle, one to void), the deposit that funded it and a transfer it sent (to
// reverse: the reversal takes money out of the wallet, or brings it back).
type matrixSubject struct {
	user              testkit.User
	wallet            int64
	settleID, voidID  int64
	depositID, sentID int64
}

// matrixWallet opens a funded wallet with two holds and a transfer to recipient for an
// approved user, then puts it and its owner in the state (directly in the tables: every state,
// reachable through the API or not).
func (f *fixture) matrixWallet(st state, recipient testkit.User) matrixSubject {
	f.T.Helper()
	u := f.CreateUser()
	m := matrixSubject{user: u, wallet: f.Wallet(u, "EUR")}
	m.depositID = f.depositID(m.wallet, 10_000)
	m.settleID, m.voidID = f.Hold(m.wallet, 100, "EUR"), f.Hold(m.wallet, 100, "EUR")
	sent := f.transfer(u, randKey(), body(m.wallet, recipient.Username, 100, "EUR"))
	if sent.Status != 201 {
		f.T.Fatalf("transfer: %d %s", sent.Status, sent.Body)
	}
	m.sentID = f.tx(sent).Id
	ctx, pool, now := context.Background(), f.DB(), f.Clock.Now()
	stmts := []struct {
		sql  string
		args []any
	}{
		{"UPDATE ledger_accounts SET status = $2 WHERE id = $1", []any{m.wallet, st.wallet}},
		{"UPDATE users SET status = $2 WHERE id = $1", []any{u.ID, st.owner}},
	}
	switch st.compliance {
	case "none":
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{"DELETE FROM compliance_cases WHERE user_id = $1", []any{u.ID}})
	default:
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{"UPDATE compliance_cases SET status = $2 WHERE user_id = $1", []any{u.ID, st.compliance}})
	}
	if st.restriction != "none" {
		var lifted any
		if st.restriction == "lifted" {
			lifted = now
		}
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{"INSERT INTO compliance_restrictions (user_id, reason, created_by, created_at, lifted_at) VALUES ($1, 'matrix', 'test', $2, $3)", []any{u.ID, now, lifted}})
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s.sql, s.args...); err != nil {
			f.T.Fatalf("state %+v: %s: %v", st, s.sql, err)
		}
	}
	return m
}

// placeHold reserves amount on a wallet and returns the hold's id.
func (f *fixture) placeHold(wallet, amount int64) int64 {
	f.T.Helper()
	r := f.internal("POST", "/api/v1/internal/holds", randKey(), map[string]any{"wallet_id": wallet, "amount": amount, "currency": "EUR", "external_reference": "payout-" + randKey()})
	if r.Status != 201 {
		f.T.Fatalf("hold: %d %s", r.Status, r.Body)
	}
	return f.tx(r).Id
}

// matrixCell runs one operation in one state and checks it against the spec's table.
func (f *fixture) matrixCell(spec []ledger.SpecRule, st state, m matrixSubject, op matrixOp, sender testkit.User, ws int64, recipient testkit.User) {
	t := f.T
	t.Helper()
	wantCode, wantStatus := op.okCode, op.okStatus
	for _, r := range spec {
		if r.Columns[op.column] && fires[r.Code] != nil && fires[r.Code](st) {
			wantCode, wantStatus = r.Code, r.Status
			break
		}
	}
	refused := wantCode != op.okCode
	if op.name == "transfer out" && st.owner != "active" {
		// A blocked or closed user's tokens no longer authenticate: refused before the policy.
		wantCode, wantStatus = "UNAUTHENTICATED", http.StatusUnauthorized
	}
	bal, pend := f.balancePending(m.wallet)
	txs := f.Count("SELECT count(*) FROM ledger_transactions")
	failed := f.Count("SELECT count(*) FROM ledger_transactions WHERE status = 'failed'")
	var r *testkit.Resp
	switch op.name {
	case "transfer out":
		r = f.transfer(m.user, randKey(), body(m.wallet, recipient.Username, 50, "EUR"))
	case "transfer in":
		r = f.transfer(sender, randKey(), body(ws, m.user.Username, 50, "EUR"))
	case "deposit":
		r = f.internal("POST", "/api/v1/internal/deposits", randKey(), map[string]any{"wallet_id": m.wallet, "amount": 50, "currency": "EUR", "external_reference": "dep-" + randKey()})
	case "hold":
		r = f.internal("POST", "/api/v1/internal/holds", randKey(), map[string]any{"wallet_id": m.wallet, "amount": 50, "currency": "EUR", "external_reference": "payout-" + randKey()})
	case "settle":
		r = f.internal("POST", fmt.Sprintf("/api/v1/internal/holds/%d/settle", m.settleID), randKey(), nil)
	case "void":
		r = f.internal("POST", fmt.Sprintf("/api/v1/internal/holds/%d/void", m.voidID), randKey(), nil)
	case "reversal out":
		r = f.reverse("", m.depositID, 50, "matrix")
	case "reversal in":
		r = f.reverse("", m.sentID, 50, "matrix")
	}
	cell := fmt.Sprintf("%s on wallet %s, owner %s, compliance %s, restriction %s", op.name, st.wallet, st.owner, st.compliance, st.restriction)
	if r.Status != wantStatus || r.Code() != wantCode {
		t.Errorf("%s: got %d %s, want %d %s", cell, r.Status, r.Code(), wantStatus, wantCode)
		return
	}
	bal2, pend2 := f.balancePending(m.wallet)
	txs2 := f.Count("SELECT count(*) FROM ledger_transactions")
	failed2 := f.Count("SELECT count(*) FROM ledger_transactions WHERE status = 'failed'")
	switch {
	case wantCode == "UNAUTHENTICATED":
		if bal2 != bal || pend2 != pend || txs2 != txs {
			t.Errorf("%s: a refused request changed the ledger", cell)
		}
	case refused:
		if bal2 != bal || pend2 != pend {
			t.Errorf("%s: refused, but balance %d→%d, pending %d→%d", cell, bal, bal2, pend, pend2)
		}
		recorded := op.name != "settle" // a refused settle leaves its hold pending
		if recorded && (failed2 != failed+1 || txs2 != txs+1 || !testkit.Is(f.tx(r).FailureCode, wantCode) || names(op, f.tx(r))) {
			t.Errorf("%s: refusal not recorded as the spec says: %d→%d failed, %s", cell, failed, failed2, r.Body)
		}
		if !recorded && (txs2 != txs || f.Count("SELECT count(*) FROM ledger_transactions WHERE id = $1 AND status = 'pending'", m.settleID) != 1) {
			t.Errorf("%s: a refused settle changed its hold or recorded a transaction", cell)
		}
	default:
		wantTx := txs
		if op.newTx {
			wantTx++
		}
		if bal2 != bal+op.dBal || pend2 != pend+op.dPend || txs2 != wantTx {
			t.Errorf("%s: accepted, but balance %d→%d, pending %d→%d, transactions %d→%d", cell, bal, bal2, pend, pend2, txs, txs2)
		}
	}
}

// balancePending reads a wallet's balance and pending amount.
func (f *fixture) balancePending(id int64) (int64, int64) {
	f.T.Helper()
	var b, p int64
	if err := f.QueryRow("SELECT balance, pending FROM ledger_accounts WHERE id = $1", id).Scan(&b, &p); err != nil {
		f.T.Fatal(err)
	}
	return b, p
}

// names says whether a refused transfer names its recipient (it never may).
func names(op matrixOp, d api.Transaction) bool {
	return (op.name == "transfer out" || op.name == "transfer in") && (d.ToUsername != nil || d.ToWalletId != nil)
}
