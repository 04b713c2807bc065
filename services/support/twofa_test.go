package support_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

// The four-eyes 2FA reset end to end: one key asks, the same key cannot approve, a second key
// does; then 2FA is off, every session ended, the user e-mailed in their language (English
// here, whatever the operator's locale), the password alone logs in, and every step is audited.
func TestTwofaResetFourEyes(t *testing.T) {
	mb := testkit.NewMailbox(t)
	f := newFixture(t, mb.Use)
	u := f.CreateUser(testkit.WithLocale("en"), testkit.WithDevice("phone-1"))
	f.Enroll2FA(u)
	mb.Next(u.Email) // 2FA enabled
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(u, "phone-2")}); r.Code() != "MFA_REQUIRED" {
		t.Fatalf("login before: %d %s", r.Status, r.Body)
	}
	base := fmt.Sprintf("/api/v1/internal/support/users/%d/twofa-reset", u.ID)
	req := call(f.Env, f.alice, "POST", base, reason("Lost phone and codes; identity checked by video (ticket 9)."), "fr")
	if req.Status != 201 || req.Code() != "TWOFA_RESET_REQUESTED" {
		t.Fatalf("request: %d %s", req.Status, req.Body)
	}
	reset := testkit.Decode[api.TwofaResetResponse](t, req).Data
	if reset.Status != "pending" || reset.ApprovedBy != nil {
		t.Fatalf("request: %+v", reset)
	}
	if r := call(f.Env, f.bob, "POST", base, reason("Twice."), "en"); r.Status != 409 || r.Code() != "TWOFA_RESET_PENDING" {
		t.Fatalf("second request: %d %s", r.Status, r.Body)
	}
	approve := fmt.Sprintf("/api/v1/internal/support/twofa-resets/%d/approve", reset.Id)
	same := call(f.Env, f.alice, "POST", approve, reason("Approving my own."), "en")
	if same.Status != 403 || same.Code() != "TWOFA_RESET_SAME_KEY" || same.Message() != "A different key than the one that asked must approve this reset." {
		t.Fatalf("same key: %d %s", same.Status, same.Body)
	}
	if !twofaOn(f, u.ID) {
		t.Fatal("the requesting key's approval changed the user")
	}
	ok := call(f.Env, f.bob, "POST", approve, reason("Video reviewed."), "fr")
	if ok.Status != 200 || ok.Code() != "TWOFA_RESET_APPROVED" {
		t.Fatalf("approve: %d %s", ok.Status, ok.Body)
	}
	d := testkit.Decode[api.TwofaResetResponse](t, ok).Data
	if d.Status != "approved" || d.RevokedTokens != 1 || !strings.HasPrefix(ptr.Value(d.ApprovedBy), "support-bob-") {
		t.Fatalf("approve: %+v", d)
	}
	if twofaOn(f, u.ID) || f.Count(`SELECT count(*) FROM twofa_recovery_codes WHERE user_id = $1`, u.ID) != 0 {
		t.Fatal("2FA still on, or recovery codes left")
	}
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token}); r.Status != 401 {
		t.Fatalf("old session after reset: %d", r.Status)
	}
	m := mb.Next(u.Email)
	if m.Subject != "Two-factor authentication reset on your Flowxi account" || !strings.Contains(m.Text, "our support team reset") {
		t.Fatalf("mail: %q %q", m.Subject, m.Text)
	}
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(u, "phone-2")}); r.Code() != "LOGIN_SUCCESS" {
		t.Fatalf("login after: %d %s", r.Status, r.Body)
	}
	if r := call(f.Env, f.bob, "POST", approve, reason("Again.")); r.Status != 409 || r.Code() != "TWOFA_RESET_NOT_PENDING" {
		t.Fatalf("approve twice: %d %s", r.Status, r.Body)
	}
	if f.audits("support.twofa_reset.requested", f.alice, u.ID) != 1 || f.audits("support.twofa_reset.requested", f.bob, u.ID) != 1 ||
		f.audits("support.twofa_reset.approved", f.alice, u.ID) != 1 || f.audits("support.twofa_reset.approved", f.bob, u.ID) != 2 {
		t.Fatal("reset calls not all audited with their key")
	}
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE action = 'support.twofa_reset.approved' AND details->>'refused' = 'TWOFA_RESET_SAME_KEY'`); n != 1 {
		t.Fatalf("the refused self-approval audited %d times", n)
	}
}

func twofaOn(f *fixture, id int64) bool {
	return f.Count(`SELECT count(*) FROM users WHERE id = $1 AND twofa_enabled AND twofa_secret_enc IS NOT NULL`, id) == 1
}

// A request not approved within SUPPORT_APPROVAL_WINDOW (injected clock) is refused with 410
// and marked expired; a new request can then be made and approved. 2FA off: 409.
func TestTwofaResetWindowExpires(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser()
	f.Enroll2FA(u)
	base := fmt.Sprintf("/api/v1/internal/support/users/%d/twofa-reset", u.ID)
	first := testkit.Decode[api.TwofaResetResponse](t, call(f.Env, f.alice, "POST", base, reason("Lost phone."))).Data
	if first.Id == 0 {
		t.Fatal("no request")
	}
	f.Clock.Advance(30*time.Minute + time.Second)
	late := call(f.Env, f.bob, "POST", fmt.Sprintf("/api/v1/internal/support/twofa-resets/%d/approve", first.Id), reason("Late."), "en")
	if late.Status != 410 || late.Code() != "TWOFA_RESET_EXPIRED" || late.Message() != "This 2FA reset request expired: ask again." {
		t.Fatalf("late approval: %d %s", late.Status, late.Body)
	}
	if !twofaOn(f, u.ID) || f.Count(`SELECT count(*) FROM support_twofa_resets WHERE id = $1 AND status = 'expired'`, first.Id) != 1 {
		t.Fatal("expired request changed the user or stayed pending")
	}
	second := call(f.Env, f.bob, "POST", base, reason("Asked again."))
	if second.Status != 201 {
		t.Fatalf("new request: %d %s", second.Status, second.Body)
	}
	id := testkit.Decode[api.TwofaResetResponse](t, second).Data.Id
	f.Clock.Advance(29 * time.Minute)
	if r := call(f.Env, f.alice, "POST", fmt.Sprintf("/api/v1/internal/support/twofa-resets/%d/approve", id), reason("In time.")); r.Status != 200 {
		t.Fatalf("approval within the window: %d %s", r.Status, r.Body)
	}
	if r := call(f.Env, f.alice, "POST", base, reason("2FA is off now.")); r.Status != 409 || r.Code() != "TWOFA_NOT_ENABLED" {
		t.Fatalf("request with 2FA off: %d %s", r.Status, r.Body)
	}
	if r := call(f.Env, f.alice, "POST", "/api/v1/internal/support/twofa-resets/999999/approve", reason("x")); r.Status != 404 || r.Code() != "TWOFA_RESET_NOT_FOUND" {
		t.Fatalf("unknown request: %d %s", r.Status, r.Body)
	}
}

// Support resends a pending user's registration code in the user's language and can expire
// it: the expired code no longer activates the account. An active user is 409 USER_NOT_PENDING.
func TestRegistrationResendAndExpire(t *testing.T) {
	mb := testkit.NewMailbox(t)
	f := newFixture(t, mb.Use)
	email := fmt.Sprintf("pending-%d@example.com", time.Now().UnixNano())
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}, Headers: map[string]string{"X-App-Locale": "en"}}); r.Status != 200 {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	first := mb.Next(email).OTP()
	var id int64
	f.Scan(`SELECT id FROM users WHERE email = $1`, []any{email}, &id)
	resend := fmt.Sprintf("/api/v1/internal/support/users/%d/registration/resend", id)
	if r := call(f.Env, f.alice, "POST", resend, reason("Never received.")); r.Status != 429 || r.Code() != "RATE_LIMITED" {
		t.Fatalf("resend within the cooldown: %d %s", r.Status, r.Body)
	}
	f.Clock.Advance(61 * time.Second)
	if r := call(f.Env, f.alice, "POST", resend, reason("Never received."), "fr"); r.Status != 200 || r.Code() != "REGISTRATION_CODE_RESENT" {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	f.RunDueJobs()
	m := mb.Next(email)
	code := m.OTP()
	if code == "" || code == first || !strings.Contains(m.Subject+m.Text, "code") {
		t.Fatalf("resent mail: %q %q", m.Subject, m.Text)
	}
	if r := call(f.Env, f.bob, "POST", fmt.Sprintf("/api/v1/internal/support/users/%d/registration/expire", id), reason("Sent to a wrong address.")); r.Status != 200 || r.Code() != "REGISTRATION_CODES_EXPIRED" {
		t.Fatalf("expire: %d %s", r.Status, r.Body)
	}
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/verify", JSON: map[string]any{"email": email, "code": code}}); r.Status != 410 || r.Code() != "OTP_EXPIRED" {
		t.Fatalf("expired code verified: %d %s", r.Status, r.Body)
	}
	if f.audits("support.registration.code_resent", f.alice, id) != 2 || f.audits("support.registration.expired", f.bob, id) != 1 {
		t.Fatal("registration calls not audited")
	}
	active := f.CreateUser()
	if r := call(f.Env, f.alice, "POST", fmt.Sprintf("/api/v1/internal/support/users/%d/registration/resend", active.ID), reason("x"), "en"); r.Status != 409 || r.Code() != "USER_NOT_PENDING" {
		t.Fatalf("active user: %d %s", r.Status, r.Body)
	}
}

func loginBody(u testkit.User, device string) map[string]any {
	return map[string]any{"email": u.Email, "password": u.Password, "device_id": device, "device_type": "ios", "device_name": "iPhone"}
}
