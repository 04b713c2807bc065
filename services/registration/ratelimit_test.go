package registration_test

import (
	"strconv"
	"testing"
	"time"
)

func TestRateLimits(t *testing.T) {
	t.Run("send and resend: 3 per 10 minutes per email", func(t *testing.T) {
		h := start(t)
		email := newEmail()
		paths := []string{"/api/v1/register-email-code/send", "/api/v1/register-email-code/resend", "/api/v1/auth/register-email"}
		for _, p := range paths {
			expect(t, h.post(p, map[string]any{"email": email}, "en"), 200, map[string]string{
				paths[0]: "OTP_SENT", paths[1]: "OTP_SENT", paths[2]: "MAGIC_LINK_SENT"}[p])
			h.Clock.Advance(61 * time.Second) // past the per-code cooldown; the limiter runs on Redis time
		}
		r := h.post("/api/v1/register-email/resend", map[string]any{"email": email}, "fr")
		expectRateLimited(t, r)
		if r.Message() != "Trop de tentatives. Veuillez réessayer plus tard." {
			t.Fatalf("message %q", r.Message())
		}
		if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); secs > 600 {
			t.Fatalf("Retry-After %d", secs)
		}
	})
	t.Run("send: 20 per hour per IP", func(t *testing.T) {
		h := start(t)
		for range 20 {
			expect(t, h.post("/api/v1/register-email-code/send", map[string]any{"email": newEmail()}, "en", "10.4.0.1"), 200, "OTP_SENT")
		}
		expectRateLimited(t, h.post("/api/v1/register-email-code/send", map[string]any{"email": newEmail()}, "en", "10.4.0.1"))
		// Another client is not affected.
		expect(t, h.post("/api/v1/register-email-code/send", map[string]any{"email": newEmail()}, "en", "10.4.0.2"), 200, "OTP_SENT")
	})
	t.Run("verify: 10 per 10 minutes per email", func(t *testing.T) {
		h := start(t)
		email := newEmail()
		code := h.sendCode(email, "en")
		for range 10 {
			expect(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": code}, "en"), 200, "OTP_VALID")
		}
		expectRateLimited(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": code}, "en", "10.4.1.9"))
	})
	t.Run("set-password: 5 per 10 minutes per email and IP, before any check", func(t *testing.T) {
		h := start(t)
		email := newEmail()
		code := h.sendCode(email, "en")
		bad := map[string]any{"email": email, "code": code, "password": strongPassword, "password_confirmation": "mismatch-" + strongPassword}
		for range 5 {
			expect(t, h.post("/api/v1/register-email-code/set-password", bad, "en", "10.4.2.1"), 422, "VALIDATION_FAILED")
		}
		expectRateLimited(t, h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, code), "en", "10.4.2.1"))
		// The same email from another address still works; the refused call consumed nothing.
		expect(t, h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, code), "en", "10.4.2.2"), 200, "TOKEN_ISSUED")
	})
	t.Run("forgot password: 3 per 10 minutes per email", func(t *testing.T) {
		h := start(t)
		u := h.CreateUser()
		for range 3 {
			expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}, "en"), 200, "PASSWORD_RESET_SENT")
		}
		expectRateLimited(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}, "en"))
	})
}
