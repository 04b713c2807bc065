package compliance_test

import (
	"fmt"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/testkit"
)

// A sender without an approved KYC is refused 403 KYC_REQUIRED (recorded as a failed
// transaction, nothing moved); approval opens sending; a restriction closes it again with 403
// ACCOUNT_RESTRICTED while the restricted user still reads and receives; lifting reopens it.
func TestSendingNeedsApprovedKYCAndNoRestriction(t *testing.T) {
	f := newFixture(t)
	alice := f.CreateUser(testkit.WithoutKYC(), testkit.WithLocale("en"))
	bob := f.CreateUser()
	aw, bw := f.Wallet(alice, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(aw, 10_000, "EUR")
	f.Deposit(bw, 10_000, "EUR")

	for _, lang := range []string{"fr", "en"} {
		r := f.send(alice, aw, bob.Username, 100, lang)
		if r.Status != 403 || r.Code() != "KYC_REQUIRED" || r.Message() != i18n.Text(lang, "KYC_REQUIRED") {
			t.Fatalf("%s: want 403 KYC_REQUIRED, got %d %s", lang, r.Status, r.Body)
		}
		if d := testkit.DataOf[api.Transaction](t, r); d.Status != "failed" || !testkit.Is(d.FailureCode, "KYC_REQUIRED") {
			t.Fatalf("the refusal is not a failed transaction: %s", r.Body)
		}
	}
	if f.Balance(aw) != 10_000 || f.Balance(bw) != 10_000 {
		t.Fatal("a refused transfer moved money")
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE failure_code = 'KYC_REQUIRED'"); n != 2 {
		t.Fatalf("%d failed transactions recorded, want 2", n)
	}

	// Review: submitted → under_review → approved, through the internal API.
	id := f.caseInStatus(alice.ID, "kyc", "submitted")
	for _, a := range []string{"start_review", "approve"} {
		if r := f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/cases/%d/decision", id), map[string]any{"action": a}); r.Status != 200 {
			t.Fatalf("%s: %d %s", a, r.Status, r.Body)
		}
	}
	if n := f.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'compliance_decision' AND locale = 'en'", alice.Email); n != 1 {
		t.Fatalf("%d decision e-mails in the user's language, want 1", n)
	}
	if r := f.send(alice, aw, bob.Username, 100); r.Status != 201 {
		t.Fatalf("approved sender: %d %s", r.Status, r.Body)
	}

	// Restriction.
	r := f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/users/%d/restrictions", alice.ID), map[string]any{"reason": "Screening hit."})
	if r.Status != 201 || r.Code() != "USER_RESTRICTED" {
		t.Fatalf("restrict: %d %s", r.Status, r.Body)
	}
	rid := testkit.DataOf[api.Restriction](t, r).Id
	if r := f.send(alice, aw, bob.Username, 100, "fr"); r.Status != 403 || r.Code() != "ACCOUNT_RESTRICTED" || r.Message() != i18n.Text("fr", "ACCOUNT_RESTRICTED") {
		t.Fatalf("restricted sender: %d %s", r.Status, r.Body)
	}
	if r := f.send(bob, bw, alice.Username, 700); r.Status != 201 {
		t.Fatalf("a restricted user must still receive: %d %s", r.Status, r.Body)
	}
	if r := f.user(alice, "GET", "/api/v1/wallets", nil); r.Status != 200 {
		t.Fatalf("a restricted user must still read: %d %s", r.Status, r.Body)
	}
	ov := f.user(alice, "GET", "/api/v1/compliance", nil)
	o := testkit.DataOf[api.ComplianceOverview](t, ov)
	// The absence of a reason stays a map read: api.UserRestriction does not declare the field, so a
	// typed decode could not see one that leaked.
	if o.CanSend || len(o.Restrictions) != 1 || ov.Data()["restrictions"].([]any)[0].(map[string]any)["reason"] != nil {
		t.Fatalf("overview of a restricted user (no reason shown): %s", ov.Body)
	}
	if n := f.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'account_restricted'", alice.Email); n != 1 {
		t.Fatal("no restriction e-mail")
	}
	lift := fmt.Sprintf("/api/v1/internal/compliance/users/%d/restrictions/%d/lift", alice.ID, rid)
	if r := f.internal("POST", lift, map[string]any{"reason": "Cleared."}); r.Status != 200 || testkit.DataOf[api.Restriction](t, r).LiftedBy == nil {
		t.Fatalf("lift: %d %s", r.Status, r.Body)
	}
	if r := f.internal("POST", lift, map[string]any{"reason": "Again."}); r.Status != 404 || r.Code() != "RESTRICTION_NOT_FOUND" {
		t.Fatalf("lifting twice: %d %s", r.Status, r.Body)
	}
	if r := f.send(alice, aw, bob.Username, 100); r.Status != 201 {
		t.Fatalf("after lifting: %d %s", r.Status, r.Body)
	}
	if f.Balance(aw) != 10_000-200+700 {
		t.Fatalf("sender balance %d", f.Balance(aw))
	}
	f.Invariants()
}

// A business account sends under its KYB, not a KYC.
func TestBusinessAccountNeedsKYB(t *testing.T) {
	f := newFixture(t)
	biz := f.CreateUser(testkit.WithoutKYC())
	bob := f.CreateUser()
	if r := f.user(biz, "PUT", "/api/v1/compliance/account-type", map[string]any{"account_type": "business"}); r.Status != 200 || testkit.DataOf[api.ComplianceOverview](t, r).RequiredCase != "kyb" {
		t.Fatalf("account type: %d %s", r.Status, r.Body)
	}
	bw := f.Wallet(biz, "EUR")
	f.Wallet(bob, "EUR")
	f.Deposit(bw, 1000, "EUR")
	f.caseInStatus(biz.ID, "kyc", "approved") // a KYC does not count for a business
	if r := f.send(biz, bw, bob.Username, 10); r.Status != 403 || r.Code() != "KYC_REQUIRED" {
		t.Fatalf("business without KYB: %d %s", r.Status, r.Body)
	}
	f.caseInStatus(biz.ID, "kyb", "approved")
	if r := f.send(biz, bw, bob.Username, 10); r.Status != 201 {
		t.Fatalf("business with KYB: %d %s", r.Status, r.Body)
	}
	// Once a case left not_started the type is locked.
	if r := f.user(biz, "PUT", "/api/v1/compliance/account-type", map[string]any{"account_type": "personal"}); r.Status != 409 || r.Code() != "ACCOUNT_TYPE_LOCKED" {
		t.Fatalf("locked type: %d %s", r.Status, r.Body)
	}
}
