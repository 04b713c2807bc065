package registration_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

func resetBody(email, code, pw string) map[string]any {
	return map[string]any{"email": email, "code": code, "password": pw, "password_confirmation": pw}
}

func TestPasswordReset(t *testing.T) {
	h := start(t)
	u := h.CreateUser(testkit.WithLocale("en"))
	pending := newEmail()
	h.sendCode(pending, "fr")

	// The same neutral answer for an unknown, a pending and an active account; only the last gets a code.
	for _, email := range []string{newEmail(), pending, u.Email} {
		r := h.post("/api/v1/auth/password/forgot", map[string]any{"email": email}, "fr")
		expect(t, r, 200, "PASSWORD_RESET_SENT")
		if r.Message() != "Si un compte existe pour cette adresse, un code a été envoyé." {
			t.Fatalf("message %q", r.Message())
		}
	}
	if h.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'password_reset_code'", pending) != 0 {
		t.Fatal("a pending account got a reset code")
	}
	m := h.mb.Next(u.Email)
	code := m.OTP()
	if m.Subject != "Réinitialisation de votre mot de passe Flowxi" || len(code) != 6 {
		t.Fatalf("mail %q", m.Subject) // the request chose French over the user's English
	}
	// A second request within a minute is answered the same and sends nothing.
	expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}, "en"), 200, "PASSWORD_RESET_SENT")

	wrong := testkit.WrongCode(code)
	newPw := "Quartz-Meadow-Lantern-7"
	expect(t, h.post("/api/v1/auth/password/reset", resetBody(u.Email, wrong, newPw), "en"), 403, "OTP_INVALID")
	expect(t, h.post("/api/v1/auth/password/reset", resetBody(newEmail(), code, newPw), "en"), 403, "OTP_INVALID")
	r := h.post("/api/v1/auth/password/reset", map[string]any{"email": u.Email, "code": code, "password": newPw, "password_confirmation": "other-Password-9"}, "en")
	expect(t, r, 422, "VALIDATION_FAILED")
	if _, ok := r.Errors()["password_confirmation"]; !ok {
		t.Fatalf("errors %s", r.Body)
	}
	r = h.post("/api/v1/auth/password/reset", resetBody(u.Email, code, newPw), "en")
	expect(t, r, 200, "PASSWORD_RESET_SUCCESS")
	if r.Message() != "Password changed." {
		t.Fatalf("message %q", r.Message())
	}
	// Every token is revoked, the new password verifies, the owner is told, the reset is audited.
	if a := h.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/devices", Token: u.Token}); a.Status != 401 {
		t.Fatalf("old token still works: %d", a.Status)
	}
	var hash string
	if err := h.QueryRow("SELECT password_hash FROM users WHERE id = $1", u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := h.Hasher().Verify(t.Context(), hash, newPw); !ok {
		t.Fatal("new password does not verify")
	}
	if n := h.mb.Next(u.Email); n.Subject != "Your Flowxi password was changed" {
		t.Fatalf("notification %q", n.Subject)
	}
	if h.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'auth.password.reset'", u.ID) != 1 ||
		h.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL", u.ID) != 0 {
		t.Fatal("reset state")
	}
	// The code is spent (the one neutral refusal).
	expect(t, h.post("/api/v1/auth/password/reset", resetBody(u.Email, code, newPw+"x"), "en"), 403, "OTP_INVALID")

	// A new code expires after ten minutes.
	h.Clock.Advance(61 * time.Second)
	expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}, "en"), 200, "PASSWORD_RESET_SENT")
	late := h.mb.Next(u.Email)
	if late.Subject != "Reset your Flowxi password" {
		t.Fatalf("mail %q", late.Subject)
	}
	h.Clock.Advance(10*time.Minute + time.Second)
	expect(t, h.post("/api/v1/auth/password/reset", resetBody(u.Email, late.OTP(), "Another-Strong-Pass-8"), "en"), 403, "OTP_INVALID")
}

func TestPasswordResetNeedsSecondFactor(t *testing.T) {
	h := start(t)
	u := h.CreateUser()
	st := h.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	uri, err := url.Parse(ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).OtpauthUri))
	if err != nil {
		t.Fatalf("status %s", st.Body)
	}
	totpCode, err := totp.GenerateCode(uri.Query().Get("secret"), h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	en := h.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": totpCode}})
	expect(t, en, 200, "TWOFA_ENABLED")
	recovery := testkit.Decode[api.TwofaEnabledResponse](t, en).RecoveryCodes[0]

	expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}, "en"), 200, "PASSWORD_RESET_SENT")
	m := h.mb.Next(u.Email)
	for m.Subject != "Reset your Flowxi password" { // skip the "2FA enabled" notice
		m = h.mb.Next(u.Email)
	}
	code := m.OTP()
	pw := "Quartz-Meadow-Lantern-7"
	expect(t, h.post("/api/v1/auth/password/reset", resetBody(u.Email, code, pw), "en"), 403, "INVALID_2FA_CODE")
	body := resetBody(u.Email, code, pw)
	body["twofa_code"] = "999999"
	if body["twofa_code"] == totpCode {
		body["twofa_code"] = "888888"
	}
	expect(t, h.post("/api/v1/auth/password/reset", body, "en"), 403, "INVALID_2FA_CODE")
	if h.Count("SELECT attempts FROM email_otps WHERE user_id = $1 AND purpose = 'password_reset'", u.ID) != 2 {
		t.Fatal("second-factor failures not counted on the reset code")
	}
	body["twofa_code"] = recovery
	expect(t, h.post("/api/v1/auth/password/reset", body, "en"), 200, "PASSWORD_RESET_SUCCESS")
}
