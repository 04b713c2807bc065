package ledger_test

import (
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

func TestWithdrawalHolds(t *testing.T) {
	f := newFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser()
	wa, wb := f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(wa, 1_000, "EUR")
	internal := func(method, path, key string, body any) *testkit.Resp {
		h := map[string]string{"X-Internal-Key": f.Key}
		if key != "" {
			h["Idempotency-Key"] = key
		}
		return f.Do(testkit.Req{Method: method, Path: path, Headers: h, JSON: body})
	}
	hold := func(amount int64) *testkit.Resp {
		return internal("POST", "/api/v1/internal/holds", randKey(), map[string]any{"wallet_id": wa, "amount": amount, "currency": "EUR", "external_reference": "payout-" + randKey()})
	}
	h1 := hold(600)
	if h1.Status != 201 || h1.Code() != "HOLD_CREATED" || f.tx(h1).Status != "pending" {
		t.Fatalf("hold: %d %s", h1.Status, h1.Body)
	}
	// The hold reduces what can be sent or held, not the balance.
	if r := hold(500); r.Status != 409 || r.Code() != "INSUFFICIENT_FUNDS" {
		t.Fatalf("second hold: %d %s", r.Status, r.Body)
	}
	if r := f.transfer(ada, randKey(), body(wa, bob.Username, 401, "EUR")); r.Code() != "INSUFFICIENT_FUNDS" {
		t.Fatalf("transfer over available: %s", r.Body)
	}
	w := testkit.DataOf[[]api.Wallet](t, f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets", Token: ada.Token}))[0]
	if w.Balance != 1_000 || w.AvailableBalance != 400 || w.Pending != 600 {
		t.Fatalf("wallet with hold: %v", w)
	}
	f.invariants()

	id := itoa(f.tx(h1).Id)
	key := randKey()
	s := internal("POST", "/api/v1/internal/holds/"+id+"/settle", key, nil)
	if s.Status != 200 || s.Code() != "HOLD_SETTLED" || f.tx(s).Status != "posted" {
		t.Fatalf("settle: %d %s", s.Status, s.Body)
	}
	if r := internal("POST", "/api/v1/internal/holds/"+id+"/settle", key, nil); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("settle replay: %d %s", r.Status, r.Body)
	}
	if r := internal("POST", "/api/v1/internal/holds/"+id+"/void", randKey(), nil); r.Status != 409 || r.Code() != "HOLD_NOT_PENDING" {
		t.Fatalf("void after settle: %d %s", r.Status, r.Body)
	}
	if r := internal("POST", "/api/v1/internal/holds/999999/settle", randKey(), nil); r.Status != 404 || r.Code() != "HOLD_NOT_FOUND" {
		t.Fatalf("unknown hold: %d %s", r.Status, r.Body)
	}
	if f.Balance(wa) != 400 {
		t.Fatalf("balance after settle: %d", f.Balance(wa))
	}
	h2 := hold(300)
	v := internal("POST", "/api/v1/internal/holds/"+itoa(f.tx(h2).Id)+"/void", randKey(), nil)
	if v.Status != 200 || v.Code() != "HOLD_VOIDED" || f.tx(v).Status != "voided" || f.Balance(wa) != 400 {
		t.Fatalf("void: %d %s", v.Status, v.Body)
	}
	f.invariants()

	// Scopes and keys: a key without the scope is 403, no key or a wrong one 401.
	weak := f.CreateInternalKey("weak-"+randKey()[:6], "ledger:read")
	dep := map[string]any{"wallet_id": wb, "amount": 5, "currency": "EUR", "external_reference": "x"}
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/deposits", JSON: dep, Headers: map[string]string{"X-Internal-Key": weak, "Idempotency-Key": "k"}}); r.Status != 403 || r.Code() != "FORBIDDEN" {
		t.Fatalf("scope: %d %s", r.Status, r.Body)
	}
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/deposits", JSON: dep, Headers: map[string]string{"X-Internal-Key": f.Key + "x", "Idempotency-Key": "k"}}); r.Status != 401 {
		t.Fatalf("bad key: %d %s", r.Status, r.Body)
	}
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/deposits", JSON: dep, Token: ada.Token, Headers: map[string]string{"Idempotency-Key": "k"}}); r.Status != 401 {
		t.Fatalf("user token on the internal API: %d %s", r.Status, r.Body)
	}
	if f.Count("SELECT count(*) FROM internal_keys WHERE key_hash = convert_to($1, 'UTF8')", f.Key) != 0 {
		t.Fatal("internal key stored in clear")
	}
}
