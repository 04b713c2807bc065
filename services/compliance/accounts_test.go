package compliance_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// Blocking revokes every token and makes the user look unknown to senders; unblocking lets them
// back in; every other move of the account status is 409.
func TestBlockAndUnblock(t *testing.T) {
	f := newFixture(t)
	eve, bob := f.CreateUser(), f.CreateUser()
	f.Wallet(eve, "EUR")
	bw := f.Wallet(bob, "EUR")
	f.Deposit(bw, 1000, "EUR")
	path := func(op string) string { return fmt.Sprintf("/api/v1/internal/compliance/users/%d/%s", eve.ID, op) }

	if r := f.internal("POST", path("unblock"), map[string]any{"reason": "x"}); r.Status != 409 || r.Code() != "INVALID_STATE_TRANSITION" {
		t.Fatalf("unblock an active user: %d %s", r.Status, r.Body)
	}
	r := f.internal("POST", path("block"), map[string]any{"reason": "Takeover suspected."}, "en")
	if r.Status != 200 || r.Code() != "USER_BLOCKED" || r.Message() != "User blocked." || testkit.Decode[api.UserStatusResponse](t, r).Data.RevokedTokens != 1 {
		t.Fatalf("block: %d %s", r.Status, r.Body)
	}
	if r := f.user(eve, "GET", "/api/v1/compliance", nil); r.Status != 401 {
		t.Fatalf("a blocked user's token still works: %d", r.Status)
	}
	if r := f.login(eve); r.Status != 401 || r.Code() != "INVALID_CREDENTIALS" {
		t.Fatalf("a blocked user logs in: %d %s", r.Status, r.Body)
	}
	unknown := f.send(bob, bw, "fx99999999", 10)
	blocked := f.send(bob, bw, eve.Username, 10)
	if blocked.Status != 409 || blocked.Code() != "RECIPIENT_NOT_FOUND" || blocked.Status != unknown.Status || blocked.Code() != unknown.Code() {
		t.Fatalf("blocked recipient %d %s vs unknown %d %s", blocked.Status, blocked.Body, unknown.Status, unknown.Body)
	}
	if r := f.internal("POST", path("block"), map[string]any{"reason": "x"}); r.Status != 409 || r.Code() != "INVALID_STATE_TRANSITION" {
		t.Fatalf("block twice: %d %s", r.Status, r.Body)
	}
	if r := f.internal("POST", path("unblock"), map[string]any{"reason": "Verified by phone."}); r.Status != 200 || testkit.Decode[api.UserStatusResponse](t, r).Data.Status != "active" {
		t.Fatalf("unblock: %d %s", r.Status, r.Body)
	}
	if r := f.login(eve); r.Status != 200 {
		t.Fatalf("an unblocked user cannot log in: %d %s", r.Status, r.Body)
	}
	if r := f.send(bob, bw, eve.Username, 10); r.Status != 201 {
		t.Fatalf("unblocked recipient: %d %s", r.Status, r.Body)
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action IN ('compliance.user.blocked', 'compliance.user.unblocked') AND actor_type = 'internal_key'", eve.ID); n != 2 {
		t.Fatalf("%d audit events with the key as actor, want 2", n)
	}
	if r := f.internal("POST", "/api/v1/internal/compliance/users/999999999/block", map[string]any{"reason": "x"}); r.Status != 404 || r.Code() != "USER_NOT_FOUND" {
		t.Fatalf("unknown user: %d %s", r.Status, r.Body)
	}
}

// Closure is refused while a wallet has a balance or a pending hold, and changes nothing then;
// once empty, the account closes for good: tokens revoked, wallets closed, e-mail queued, the
// user unknown to senders, and no way back.
func TestClosure(t *testing.T) {
	f := newFixture(t)
	carol, bob := f.CreateUser(testkit.WithLocale("en")), f.CreateUser()
	cw := f.Wallet(carol, "EUR")
	bw := f.Wallet(bob, "EUR")
	f.Deposit(cw, 500, "EUR")
	f.Deposit(bw, 1000, "EUR")
	closePath := fmt.Sprintf("/api/v1/internal/compliance/users/%d/close", carol.ID)
	refused := func(why string) {
		t.Helper()
		r := f.internal("POST", closePath, map[string]any{"reason": "Customer request."})
		if r.Status != 409 || r.Code() != "ACCOUNT_NOT_EMPTY" {
			t.Fatalf("%s: want 409 ACCOUNT_NOT_EMPTY, got %d %s", why, r.Status, r.Body)
		}
		if f.str("SELECT status FROM users WHERE id = $1", carol.ID) != "active" ||
			f.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL", carol.ID) != 1 ||
			f.Count("SELECT count(*) FROM ledger_accounts WHERE user_id = $1 AND status = 'closed'", carol.ID) != 0 ||
			f.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1", carol.Email) != 0 {
			t.Fatalf("%s: a refused closure changed something", why)
		}
	}
	refused("non-zero balance")

	// Move the 500 out through a withdrawal hold: while it is pending the closure is refused too.
	h := f.Hold(cw, 500, "EUR")
	refused("pending hold")
	f.Settle(h)
	if f.Balance(cw) != 0 {
		t.Fatalf("balance %d after settling", f.Balance(cw))
	}

	r := f.internal("POST", closePath, map[string]any{"reason": "Customer request."})
	if r.Status != 200 || r.Code() != "ACCOUNT_CLOSED" ||
		testkit.Decode[api.UserStatusResponse](t, r).Data.Status != "closed" || testkit.Decode[api.UserStatusResponse](t, r).Data.RevokedTokens != 1 {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	if f.Count("SELECT count(*) FROM ledger_accounts WHERE user_id = $1 AND status <> 'closed'", carol.ID) != 0 {
		t.Fatal("a wallet of the closed account is still open")
	}
	if f.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'account_closed' AND locale = 'en'", carol.Email) != 1 {
		t.Fatal("no closure e-mail in the user's language")
	}
	if r := f.user(carol, "GET", "/api/v1/compliance", nil); r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("the closed user's old token: %d %s", r.Status, r.Body)
	}
	if r := f.send(bob, bw, carol.Username, 10); r.Status != 409 || r.Code() != "RECIPIENT_NOT_FOUND" {
		t.Fatalf("transfer to a closed user: %d %s", r.Status, r.Body)
	}
	for _, op := range []string{"close", "unblock", "block"} {
		r := f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/users/%d/%s", carol.ID, op), map[string]any{"reason": "x"})
		if r.Status != 409 || r.Code() != "INVALID_STATE_TRANSITION" {
			t.Fatalf("%s after closure: %d %s", op, r.Status, r.Body)
		}
	}
	if r := f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/users/%d/restrictions", carol.ID), map[string]any{"reason": "x"}); r.Status != 409 {
		t.Fatalf("restrict a closed account: %d %s", r.Status, r.Body)
	}
	// Nor can the ledger's wallet-status endpoint reopen (or freeze) a closed wallet.
	for _, status := range []string{"active", "frozen"} {
		r := f.internal("PUT", fmt.Sprintf("/api/v1/internal/wallets/%d/status", cw), map[string]any{"status": status})
		if r.Status != 409 || r.Code() != "WALLET_CLOSED" {
			t.Fatalf("set a closed wallet %s: %d %s", status, r.Status, r.Body)
		}
	}
	if f.Count("SELECT count(*) FROM ledger_accounts WHERE id = $1 AND status = 'closed'", cw) != 1 {
		t.Fatal("a refused status change changed the wallet")
	}
	f.Invariants()
	// Last (the clock moves): now and months later, closure is final.
	for i := 0; i < 2; i++ { // now and later: closure is final
		if r := f.login(carol); r.Status != 401 || r.Code() != "INVALID_CREDENTIALS" {
			t.Fatalf("a closed user logs in: %d %s", r.Status, r.Body)
		}
		f.Clock.Advance(90 * 24 * time.Hour)
	}
}

// Internal operations need a key, and the right scope.
func TestInternalScopes(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser()
	readOnly := f.CreateInternalKey("reader-"+testkit.RandomHex(3), "compliance:read")
	other := f.CreateInternalKey("ledger-"+testkit.RandomHex(3), "ledger:read")
	block := fmt.Sprintf("/api/v1/internal/compliance/users/%d/block", u.ID)
	cases := []struct {
		key, method, path string
		status            int
	}{
		{"", "GET", "/api/v1/internal/compliance/cases?status=submitted", 401},
		{other, "GET", "/api/v1/internal/compliance/cases?status=submitted", 403},
		{readOnly, "GET", "/api/v1/internal/compliance/cases?status=submitted", 200},
		{readOnly, "POST", block, 403},
	}
	for _, c := range cases {
		h := map[string]string{}
		if c.key != "" {
			h["X-Internal-Key"] = c.key
		}
		var body any
		if c.method == "POST" {
			body = map[string]any{"reason": "x"}
		}
		r := f.Do(testkit.Req{Method: c.method, Path: c.path, Headers: h, JSON: body})
		if r.Status != c.status {
			t.Errorf("%s %s with %q: %d %s", c.method, c.path, c.key, r.Status, r.Body)
		}
	}
	if f.str("SELECT status FROM users WHERE id = $1", u.ID) != "active" {
		t.Fatal("a refused key changed the user")
	}
	// A user token is no internal key.
	if r := f.Do(testkit.Req{Method: "POST", Path: block, Token: u.Token, JSON: map[string]any{"reason": "x"}}); r.Status != 401 {
		t.Fatalf("bearer on the internal API: %d", r.Status)
	}
}
