package ledger_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a running server with an internal key holding every ledger scope.
type fixture struct {
	*testkit.Env
	key string
}

func newFixture(t testing.TB) *fixture {
	env := testkit.New(t)
	key, err := env.App.InternalKeys.Create(context.Background(), "test-"+randKey()[:8],
		[]string{ledger.ScopeDeposit, ledger.ScopeWithdraw, ledger.ScopeAdmin, ledger.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Env: env, key: key}
}

func randKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// wallet opens a wallet for u and returns its id.
func (f *fixture) wallet(u testkit.User, currency string) int64 {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/wallets", Token: u.Token, JSON: map[string]any{"currency": currency}})
	if r.Status != 201 {
		f.T.Fatalf("open wallet: %d %s", r.Status, r.Body)
	}
	return int64(r.Data()["id"].(float64))
}

// deposit credits a wallet through the internal API.
func (f *fixture) deposit(wallet, amount int64, currency string) {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/deposits", Headers: map[string]string{"X-Internal-Key": f.key, "Idempotency-Key": randKey()},
		JSON: map[string]any{"wallet_id": wallet, "amount": amount, "currency": currency, "external_reference": "ref-" + randKey()}})
	if r.Status != 201 || r.Code() != "DEPOSIT_POSTED" {
		f.T.Fatalf("deposit: %d %s", r.Status, r.Body)
	}
}

// transfer sends a transfer request with an idempotency key.
func (f *fixture) transfer(u testkit.User, key string, body map[string]any, lang ...string) *testkit.Resp {
	f.T.Helper()
	h := map[string]string{"Idempotency-Key": key}
	if len(lang) > 0 {
		h["X-App-Locale"] = lang[0]
	}
	return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: u.Token, Headers: h, JSON: body})
}

// balance reads a wallet's balance straight from the database.
func (f *fixture) balance(id int64) int64 {
	f.T.Helper()
	var b int64
	if err := f.App.Store.Pool.QueryRow(context.Background(), "SELECT balance FROM ledger_accounts WHERE id = $1", id).Scan(&b); err != nil {
		f.T.Fatal(err)
	}
	return b
}

// count runs a count(*) query.
func (f *fixture) count(sql string, args ...any) int {
	f.T.Helper()
	var n int
	if err := f.App.Store.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.T.Fatal(err)
	}
	return n
}

// invariants fails the test on any ledger violation, checked both directly and through the
// internal endpoint.
func (f *fixture) invariants() {
	f.T.Helper()
	v, err := ledger.Check(context.Background(), f.App.Store)
	if err != nil {
		f.T.Fatal(err)
	}
	if len(v) > 0 {
		f.T.Fatalf("ledger violations: %v", v)
	}
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/internal/ledger/check", Headers: map[string]string{"X-Internal-Key": f.key}})
	if r.Status != 200 || r.Code() != "LEDGER_CHECK_OK" || r.Data()["ok"] != true {
		f.T.Fatalf("check endpoint: %d %s", r.Status, r.Body)
	}
}

func num(v any) int64 { return int64(v.(float64)) }

func body(from int64, to string, amount int64, currency string) map[string]any {
	return map[string]any{"from_wallet_id": from, "to_username": to, "amount": amount, "currency": currency}
}

var _ = fmt.Sprint
