package ledger_test

import (
	"fmt"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a running server with an internal key holding every ledger scope.
type fixture struct {
	*testkit.Money
}

func newFixture(t testing.TB) *fixture {
	return &fixture{Money: testkit.NewMoney(testkit.New(t), testkit.LedgerScopes...)}
}

func randKey() string { return testkit.RandomHex(12) }

// transfer sends a transfer request with an idempotency key.
func (f *fixture) transfer(u testkit.User, key string, body map[string]any, lang ...string) *testkit.Resp {
	f.T.Helper()
	h := map[string]string{"Idempotency-Key": key}
	if len(lang) > 0 {
		h["X-App-Locale"] = lang[0]
	}
	return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: u.Token, Headers: h, JSON: body})
}

// invariants fails the test on any ledger violation, checked both directly and through the
// internal endpoint.
func (f *fixture) invariants() {
	f.T.Helper()
	f.Invariants()
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/internal/ledger/check", Headers: map[string]string{"X-Internal-Key": f.Key}})
	if r.Status != 200 || r.Code() != "LEDGER_CHECK_OK" || !testkit.Decode[api.LedgerCheckResponse](f.T, r).Data.Ok {
		f.T.Fatalf("check endpoint: %d %s", r.Status, r.Body)
	}
}

// tx reads the transaction a money answer (or a refusal recorded as failed) carries in `data`.
func (f *fixture) tx(r *testkit.Resp) api.Transaction {
	f.T.Helper()
	return testkit.DataOf[api.Transaction](f.T, r)
}

func body(from int64, to string, amount int64, currency string) map[string]any {
	return map[string]any{"from_wallet_id": from, "to_username": to, "amount": amount, "currency": currency}
}

var _ = fmt.Sprint
