package ledger_test

import (
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

func TestTransferIdempotentLifecycle(t *testing.T) {
	f := newFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser(testkit.WithLocale("en"))
	wa, wb := f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(wa, 10_000, "EUR")

	// Wallets are listed with integer minor units and the ISO 4217 exponent.
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets", Token: ada.Token})
	w := testkit.DataOf[[]api.Wallet](t, r)[0]
	if r.Code() != "WALLETS_OK" || w.Balance != 10_000 || w.Exponent != 2 || w.AvailableBalance != 10_000 {
		t.Fatalf("wallets: %s", r.Body)
	}
	// A second wallet in the same currency is a conflict.
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/wallets", Token: ada.Token, JSON: map[string]any{"currency": "EUR"}}); r.Status != 409 || r.Code() != "WALLET_ALREADY_EXISTS" {
		t.Fatalf("duplicate wallet: %d %s", r.Status, r.Body)
	}
	xof := f.Wallet(ada, "XOF")
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets", Token: ada.Token}); testkit.DataOf[[]api.Wallet](t, r)[1].Exponent != 0 || xof == 0 {
		t.Fatalf("XOF exponent: %s", r.Body)
	}

	key := randKey()
	req := body(wa, bob.Username, 2_500, "EUR")
	req["note"] = "Dinner"
	first := f.transfer(ada, key, req)
	if first.Status != 201 || first.Code() != "TRANSFER_COMPLETED" || first.Header.Get("Idempotent-Replayed") != "false" {
		t.Fatalf("transfer: %d %s", first.Status, first.Body)
	}
	id := f.tx(first).Id
	// Same key, same body: the stored response, nothing moves again.
	again := f.transfer(ada, key, req)
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || f.tx(again).Id != id {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	// Same key, another body: refused, nothing moves.
	other := body(wa, bob.Username, 2_501, "EUR")
	if r := f.transfer(ada, key, other); r.Status != 422 || r.Code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reuse: %d %s", r.Status, r.Body)
	}
	if f.Balance(wa) != 7_500 || f.Balance(wb) != 2_500 {
		t.Fatalf("balances %d %d", f.Balance(wa), f.Balance(wb))
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE kind = 'transfer' AND from_account_id = $1", wa); n != 1 {
		t.Fatalf("%d transfers recorded", n)
	}
	// One audit event, naming who moved how much (the subject holds the rest), not the replay.
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE action = 'ledger.transfer.posted' AND subject_type = 'ledger_transaction'
		AND subject_id = $1 AND actor_type = 'user' AND actor_id = $2 AND user_id = $3 AND request_id IS NOT NULL AND ip IS NOT NULL
		AND details = '{"amount": 2500, "currency": "EUR"}'::jsonb`, itoa(id), itoa(ada.ID), ada.ID); n != 1 {
		t.Fatalf("%d audit events", n)
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE subject_id = $1", itoa(id)); n != 1 {
		t.Fatalf("%d audit events for one transfer", n)
	}

	// Both parties see it; a stranger does not.
	for _, u := range []testkit.User{ada, bob} {
		r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/transfers/" + itoa(id), Token: u.Token})
		if r.Status != 200 || f.tx(r).Status != "posted" || !testkit.Is(f.tx(r).FromUsername, ada.Username) || !testkit.Is(f.tx(r).ToUsername, bob.Username) {
			t.Fatalf("get transfer: %d %s", r.Status, r.Body)
		}
	}
	eve := f.CreateUser()
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/transfers/" + itoa(id), Token: eve.Token}); r.Status != 404 || r.Code() != "TRANSFER_NOT_FOUND" {
		t.Fatalf("stranger: %d %s", r.Status, r.Body)
	}

	// History: newest first, signed amounts, running balances, counterparty username.
	h := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wa) + "/transactions?limit=1", Token: ada.Token})
	page := testkit.Decode[api.HistoryResponse](t, h).Data
	it := page.Items[0]
	if h.Status != 200 || len(page.Items) != 1 || it.Amount != -2_500 || !testkit.Is(it.BalanceAfter, 7_500) || !testkit.Is(it.Counterparty, bob.Username) ||
		page.NextCursor == nil {
		t.Fatalf("history page 1: %s", h.Body)
	}
	h = f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wa) + "/transactions?limit=1&cursor=" + *page.NextCursor, Token: ada.Token})
	page = testkit.Decode[api.HistoryResponse](t, h).Data
	if it := page.Items[0]; it.Kind != "deposit" || it.Amount != 10_000 || it.Counterparty != nil || page.NextCursor != nil {
		t.Fatalf("history page 2: %s", h.Body)
	}
	h = f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wb) + "/transactions", Token: bob.Token})
	if it := testkit.Decode[api.HistoryResponse](t, h).Data.Items[0]; it.Amount != 2_500 || !testkit.Is(it.Counterparty, ada.Username) {
		t.Fatalf("recipient history: %s", h.Body)
	}
	// Someone else's wallet is not found.
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wa) + "/transactions", Token: bob.Token}); r.Status != 404 || r.Code() != "WALLET_NOT_FOUND" {
		t.Fatalf("foreign history: %d %s", r.Status, r.Body)
	}
	f.invariants()

	// Entries are append-only.
	if err := f.TryExecSQL("UPDATE ledger_entries SET amount = amount + 1"); err == nil {
		t.Fatal("an entry could be updated")
	}
	if err := f.TryExecSQL("DELETE FROM ledger_entries"); err == nil {
		t.Fatal("an entry could be deleted")
	}
}

func itoa(n int64) string { return fmtInt(n) }
