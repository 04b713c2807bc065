package testkit

import (
	"context"
	"fmt"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/ledger"
)

// Money is the money fixtures the ledger and compliance suites share: a server and an internal
// key allowed to deposit, hold and settle.
type Money struct {
	*Env
	Key string
}

// LedgerScopes are every ledger scope of the internal API.
var LedgerScopes = []string{ledger.ScopeDeposit, ledger.ScopeWithdraw, ledger.ScopeAdmin, ledger.ScopeRead}

// NewMoney wraps env with an internal key holding scopes.
func NewMoney(env *Env, scopes ...string) *Money {
	env.T.Helper()
	return &Money{Env: env, Key: env.CreateInternalKey("money-"+RandomHex(4), scopes...)}
}

// internalPost posts to the internal API with the fixture's key and a fresh Idempotency-Key.
func (m *Money) internalPost(path string, body any) *Resp {
	m.T.Helper()
	return m.Do(Req{Method: "POST", Path: path, JSON: body,
		Headers: map[string]string{"X-Internal-Key": m.Key, "Idempotency-Key": RandomHex(8)}})
}

// Wallet opens a wallet for u and returns its id.
func (m *Money) Wallet(u User, currency string) int64 {
	m.T.Helper()
	r := m.Do(Req{Method: "POST", Path: "/api/v1/wallets", Token: u.Token, JSON: map[string]any{"currency": currency}})
	if r.Status != 201 {
		m.T.Fatalf("open wallet: %d %s", r.Status, r.Body)
	}
	return DataOf[api.Wallet](m.T, r).Id
}

// Deposit credits a wallet through the internal API.
func (m *Money) Deposit(wallet, amount int64, currency string) {
	m.T.Helper()
	r := m.internalPost("/api/v1/internal/deposits",
		map[string]any{"wallet_id": wallet, "amount": amount, "currency": currency, "external_reference": "ref-" + RandomHex(6)})
	if r.Status != 201 || r.Code() != "DEPOSIT_POSTED" {
		m.T.Fatalf("deposit: %d %s", r.Status, r.Body)
	}
}

// FundedUsers creates n users, each with a wallet in currency credited with amount, one after
// the other; it returns the users and their wallets, in the same order.
func (m *Money) FundedUsers(n int, amount int64, currency string) ([]User, []int64) {
	m.T.Helper()
	users, wallets := make([]User, n), make([]int64, n)
	for i := range users {
		users[i] = m.CreateUser()
		wallets[i] = m.Wallet(users[i], currency)
		m.Deposit(wallets[i], amount, currency)
	}
	return users, wallets
}

// Hold places a withdrawal hold and returns its id.
func (m *Money) Hold(wallet, amount int64, currency string) int64 {
	m.T.Helper()
	r := m.internalPost("/api/v1/internal/holds",
		map[string]any{"wallet_id": wallet, "amount": amount, "currency": currency, "external_reference": "payout-" + RandomHex(6)})
	if r.Status != 201 {
		m.T.Fatalf("hold: %d %s", r.Status, r.Body)
	}
	return DataOf[api.Transaction](m.T, r).Id
}

// Settle settles a hold.
func (m *Money) Settle(id int64) {
	m.T.Helper()
	if r := m.internalPost(fmt.Sprintf("/api/v1/internal/holds/%d/settle", id), nil); r.Status != 200 {
		m.T.Fatalf("settle: %d %s", r.Status, r.Body)
	}
}

// Transfer sends a transfer of amount from wallet `from` to the user named to (lang: the
// X-App-Locale header) and returns the answer as is.
func (m *Money) Transfer(u User, from int64, to string, amount int64, currency string, lang ...string) *Resp {
	m.T.Helper()
	h := map[string]string{"Idempotency-Key": RandomHex(8)}
	if len(lang) > 0 {
		h["X-App-Locale"] = lang[0]
	}
	return m.Do(Req{Method: "POST", Path: "/api/v1/transfers", Token: u.Token, Headers: h,
		JSON: map[string]any{"from_wallet_id": from, "to_username": to, "amount": amount, "currency": currency}})
}

// Balance reads an account's balance from the database.
func (e *Env) Balance(account int64) int64 {
	e.T.Helper()
	var b int64
	e.Scan("SELECT balance FROM ledger_accounts WHERE id = $1", []any{account}, &b)
	return b
}

// Invariants fails the test on any ledger violation (ledger.Check, what `ledger check` runs).
func (e *Env) Invariants() {
	e.T.Helper()
	v, err := e.LedgerCheck()
	if err != nil {
		e.T.Fatal(err)
	}
	if len(v) > 0 {
		e.T.Fatalf("ledger violations: %v", v)
	}
}

// LedgerCheck runs the ledger's invariant check and returns the violations.
func (e *Env) LedgerCheck() ([]string, error) {
	return ledger.Check(context.Background(), e.parts.Store)
}
