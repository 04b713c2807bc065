package compliance_test

import (
	"context"
	"fmt"

	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// wallet opens a wallet for u and returns its id.
func (f *fixture) wallet(u testkit.User, currency string) int64 {
	f.T.Helper()
	r := f.user(u, "POST", "/api/v1/wallets", map[string]any{"currency": currency})
	if r.Status != 201 {
		f.T.Fatalf("open wallet: %d %s", r.Status, r.Body)
	}
	return int64(r.Data()["id"].(float64))
}

// deposit credits a wallet through the internal API.
func (f *fixture) deposit(wallet, amount int64) {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/deposits", Headers: map[string]string{"X-Internal-Key": f.key, "Idempotency-Key": randHex(8)},
		JSON: map[string]any{"wallet_id": wallet, "amount": amount, "currency": "EUR", "external_reference": "ref-" + randHex(6)}})
	if r.Status != 201 {
		f.T.Fatalf("deposit: %d %s", r.Status, r.Body)
	}
}

// hold places a withdrawal hold and returns its id.
func (f *fixture) hold(wallet, amount int64) int64 {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/holds", Headers: map[string]string{"X-Internal-Key": f.key, "Idempotency-Key": randHex(8)},
		JSON: map[string]any{"wallet_id": wallet, "amount": amount, "currency": "EUR", "external_reference": "payout-" + randHex(6)}})
	if r.Status != 201 {
		f.T.Fatalf("hold: %d %s", r.Status, r.Body)
	}
	return int64(r.Data()["id"].(float64))
}

// settle settles a hold.
func (f *fixture) settle(id int64) {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/internal/holds/%d/settle", id),
		Headers: map[string]string{"X-Internal-Key": f.key, "Idempotency-Key": randHex(8)}})
	if r.Status != 200 {
		f.T.Fatalf("settle: %d %s", r.Status, r.Body)
	}
}

// send transfers amount EUR from wallet to the user named to.
func (f *fixture) send(u testkit.User, from int64, to string, amount int64, lang ...string) *testkit.Resp {
	f.T.Helper()
	h := map[string]string{"Idempotency-Key": randHex(8)}
	if len(lang) > 0 {
		h["X-App-Locale"] = lang[0]
	}
	return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: u.Token, Headers: h,
		JSON: map[string]any{"from_wallet_id": from, "to_username": to, "amount": amount, "currency": "EUR"}})
}

// balance reads a wallet's balance from the database.
func (f *fixture) balance(id int64) int64 {
	f.T.Helper()
	var b int64
	if err := f.App.Store.Pool.QueryRow(context.Background(), "SELECT balance FROM ledger_accounts WHERE id = $1", id).Scan(&b); err != nil {
		f.T.Fatal(err)
	}
	return b
}

// invariants fails on any ledger violation.
func (f *fixture) invariants() {
	f.T.Helper()
	v, err := ledger.Check(context.Background(), f.App.Store)
	if err != nil {
		f.T.Fatal(err)
	}
	if len(v) > 0 {
		f.T.Fatalf("ledger violations: %v", v)
	}
}
