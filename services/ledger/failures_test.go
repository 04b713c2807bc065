package ledger_test

import (
	"fmt"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/testkit"
)

// Every refusal of a transfer, in both languages: recorded ones answer 409 with the failed
// transaction in data (and appear in the sender's history); the others record nothing.
func TestTransferFailureCodes(t *testing.T) {
	f := newFixture(t)
	ada, bob, carl := f.CreateUser(), f.CreateUser(), f.CreateUser()
	wa, wb := f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	wbx := f.Wallet(bob, "XOF")
	wc := f.Wallet(carl, "EUR")
	f.Deposit(wa, 1_000, "EUR")
	f.Deposit(wc, 1_000, "EUR")
	if r := f.Do(testkit.Req{Method: "PUT", Path: "/api/v1/internal/wallets/" + itoa(wc) + "/status", Headers: map[string]string{"X-Internal-Key": f.Key},
		JSON: map[string]any{"status": "frozen"}}); r.Status != 200 || testkit.DataOf[api.Wallet](t, r).Status != "frozen" {
		t.Fatalf("freeze: %d %s", r.Status, r.Body)
	}
	dave := f.CreateUser()
	wd := f.Wallet(dave, "EUR")
	erin := f.CreateUser() // only a XOF wallet
	f.Wallet(erin, "XOF")
	if err := f.TryExecSQL("UPDATE users SET twofa_enabled = true WHERE id = $1", dave.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		user     testkit.User
		body     map[string]any
		status   int
		code     string
		recorded bool
	}{
		{"insufficient funds", ada, body(wa, bob.Username, 1_001, "EUR"), 409, "INSUFFICIENT_FUNDS", true},
		{"unknown recipient", ada, body(wa, carl.Username+"x", 10, "EUR"), 409, "RECIPIENT_NOT_FOUND", true},
		{"recipient has no wallet in the currency", ada, body(wa, erin.Username, 10, "EUR"), 409, "CURRENCY_MISMATCH", true},
		{"sender's own refusal comes before the recipient's", ada, body(wa, carl.Username+"x", 1_001, "EUR"), 409, "INSUFFICIENT_FUNDS", true},
		{"recipient wallet in another currency", ada, map[string]any{"from_wallet_id": wa, "to_wallet_id": wbx, "amount": 10, "currency": "EUR"}, 409, "CURRENCY_MISMATCH", true},
		{"source wallet in another currency", bob, map[string]any{"from_wallet_id": wbx, "to_username": ada.Username, "amount": 10, "currency": "EUR"}, 409, "CURRENCY_MISMATCH", true},
		{"unknown recipient wallet", ada, map[string]any{"from_wallet_id": wa, "to_wallet_id": 999999, "amount": 10, "currency": "EUR"}, 409, "RECIPIENT_NOT_FOUND", true},
		{"frozen recipient (neutral: cannot receive)", ada, body(wa, carl.Username, 10, "EUR"), 409, "RECIPIENT_NOT_FOUND", true},
		{"frozen sender", carl, body(wc, ada.Username, 10, "EUR"), 409, "WALLET_FROZEN", true},
		{"same wallet", ada, map[string]any{"from_wallet_id": wa, "to_wallet_id": wa, "amount": 10, "currency": "EUR"}, 409, "SAME_WALLET", true},
		{"over the limit", ada, body(wa, bob.Username, 1_000_000*100+1, "EUR"), 409, "LIMIT_EXCEEDED", true},
		{"step-up required", dave, body(wd, ada.Username, 10, "EUR"), 403, "STEP_UP_REQUIRED", false},
		{"not the caller's wallet", bob, body(wa, carl.Username, 10, "EUR"), 404, "WALLET_NOT_FOUND", false},
	}
	_ = wb
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := map[string]string{}
			for _, lang := range []string{"fr", "en"} {
				before := f.Count("SELECT count(*) FROM ledger_transactions")
				key := randKey()
				r := f.transfer(tc.user, key, tc.body, lang)
				if r.Status != tc.status || r.Code() != tc.code {
					t.Fatalf("%s: got %d %s", lang, r.Status, r.Body)
				}
				if r.Message() != i18n.Text(lang, tc.code) {
					t.Fatalf("%s: message %q", lang, r.Message())
				}
				msgs[lang] = r.Message()
				after := f.Count("SELECT count(*) FROM ledger_transactions")
				if !tc.recorded {
					if after != before || f.Count("SELECT count(*) FROM idempotency_keys WHERE key = $1", key) != 0 {
						t.Fatalf("a refusal that records nothing wrote something")
					}
					continue
				}
				d := f.tx(r)
				if after != before+1 || d.Status != "failed" || !testkit.Is(d.FailureCode, tc.code) {
					t.Fatalf("not recorded as failed: %s", r.Body)
				}
				if n := f.Count(`SELECT count(*) FROM audit_events WHERE action = 'ledger.transfer.failed' AND subject_id = $1
					AND details->>'failure_code' = $2 AND details->>'amount' = $3`, itoa(d.Id), tc.code, fmt.Sprint(tc.body["amount"])); n != 1 {
					t.Fatalf("%d audit events for the failed transfer", n)
				}
				// The refusal is stored: a retry replays it, it never later succeeds.
				again := f.transfer(tc.user, key, tc.body, lang)
				if again.Status != tc.status || again.Header.Get("Idempotent-Replayed") != "true" || f.tx(again).Id != d.Id {
					t.Fatalf("retry of a refusal: %d %s", again.Status, again.Body)
				}
			}
			if msgs["fr"] == msgs["en"] {
				t.Fatalf("same message in both languages: %q", msgs["fr"])
			}
		})
	}
	// Nothing moved; the failed transactions show in the sender's history with their code.
	if f.Balance(wa) != 1_000 || f.Balance(wb) != 0 || f.Balance(wc) != 1_000 {
		t.Fatalf("balances moved: %d %d %d", f.Balance(wa), f.Balance(wb), f.Balance(wc))
	}
	h := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wa) + "/transactions?limit=1", Token: ada.Token})
	if it := testkit.Decode[api.HistoryResponse](t, h).Data.Items[0]; it.Status != "failed" || it.FailureCode == nil || it.BalanceAfter != nil {
		t.Fatalf("history: %s", h.Body)
	}
	// The recipient of a refused transfer sees nothing of it.
	h = f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wb) + "/transactions", Token: bob.Token})
	if items := testkit.Decode[api.HistoryResponse](t, h).Data.Items; len(items) != 0 {
		t.Fatalf("recipient sees refused transfers: %s", h.Body)
	}
	f.invariants()
}

// Amounts and currencies the schema or the configuration refuse: 422, nothing written.
func TestTransferValidation(t *testing.T) {
	f := newFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser()
	wa := f.Wallet(ada, "EUR")
	f.Wallet(bob, "EUR")
	f.Deposit(wa, 1_000, "EUR")
	before := f.Count("SELECT count(*) FROM ledger_transactions")
	raw := func(amount string) []byte {
		return []byte(`{"from_wallet_id":` + itoa(wa) + `,"to_username":"` + bob.Username + `","amount":` + amount + `,"currency":"EUR"}`)
	}
	cases := []struct {
		name  string
		raw   []byte
		field string
	}{
		{"zero", raw("0"), "amount"},
		{"negative", raw("-5"), "amount"},
		{"over int64", raw("9223372036854775808"), "amount"},
		{"over 2^53", raw("9007199254740992"), "amount"},
		{"decimal", raw("10.5"), "amount"},
		{"string", raw(`"10"`), "amount"},
		{"unknown currency", []byte(`{"from_wallet_id":` + itoa(wa) + `,"to_username":"` + bob.Username + `","amount":1,"currency":"ZZZ"}`), "currency"},
		{"lower-case currency", []byte(`{"from_wallet_id":` + itoa(wa) + `,"to_username":"` + bob.Username + `","amount":1,"currency":"eur"}`), "currency"},
		{"both recipients", []byte(`{"from_wallet_id":` + itoa(wa) + `,"to_username":"x","to_wallet_id":3,"amount":1,"currency":"EUR"}`), "to_username"},
		{"no recipient", []byte(`{"from_wallet_id":` + itoa(wa) + `,"amount":1,"currency":"EUR"}`), "to_username"},
		{"note too long", []byte(`{"from_wallet_id":` + itoa(wa) + `,"to_username":"x","amount":1,"currency":"EUR","note":"` + string(make141()) + `"}`), "note"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []string{"fr", "en"} {
				r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: ada.Token, Raw: tc.raw, Type: "application/json",
					Headers: map[string]string{"Idempotency-Key": randKey(), "X-App-Locale": lang}})
				if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || r.Errors()[tc.field] == nil {
					t.Fatalf("%s: got %d %s", lang, r.Status, r.Body)
				}
			}
		})
	}
	// The Idempotency-Key header is required and bounded.
	for _, k := range []string{"", string(make([]byte, 0)) + string(make256())} {
		h := map[string]string{}
		if k != "" {
			h["Idempotency-Key"] = k
		}
		r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: ada.Token, Headers: h, JSON: body(wa, bob.Username, 1, "EUR")})
		// (The shared validator reports a too-long header under "body"; a missing one by name.)
		if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || (r.Errors()["Idempotency-Key"] == nil && r.Errors()["body"] == nil) {
			t.Fatalf("key %d chars: %d %s", len(k), r.Status, r.Body)
		}
	}
	// A wallet in a currency that is not offered.
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/wallets", Token: ada.Token, JSON: map[string]any{"currency": "GBP"}}); r.Status != 422 || r.Errors()["currency"] == nil {
		t.Fatalf("GBP wallet: %d %s", r.Status, r.Body)
	}
	if after := f.Count("SELECT count(*) FROM ledger_transactions"); after != before {
		t.Fatalf("invalid requests wrote %d transactions", after-before)
	}
}

func make141() []byte {
	b := make([]byte, 141)
	for i := range b {
		b[i] = 'n'
	}
	return b
}

func make256() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = 'k'
	}
	return b
}
