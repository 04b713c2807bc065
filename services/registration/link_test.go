package registration_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// linkOf reads the token and email out of a magic-link e-mail.
func linkOf(t *testing.T, m testkit.Mail) (token, email string) {
	t.Helper()
	u, err := url.Parse(m.Link())
	if err != nil || !strings.HasPrefix(m.Link(), "https://app.flowxi.test/register/set-password?") {
		t.Fatalf("link %q", m.Link())
	}
	return u.Query().Get("token"), u.Query().Get("email")
}

func TestMagicLinkRegistrationEndToEnd(t *testing.T) {
	h := start(t)
	subjects := map[string]string{"fr": "Finalisez la création de votre compte Flowxi", "en": "Finish creating your Flowxi account"}
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			email := newEmail()
			r := h.post("/api/v1/auth/register-email", map[string]any{"email": strings.ToUpper(email)}, lang)
			expect(t, r, 200, "MAGIC_LINK_SENT")
			m := h.mb.Next(email)
			token, linkEmail := linkOf(t, m)
			if m.Subject != subjects[lang] || len(token) != 64 || linkEmail != email || !strings.Contains(m.HTML, "href=") {
				t.Fatalf("mail %q token %d email %q", m.Subject, len(token), linkEmail)
			}
			// Only the SHA-256 of the token is stored.
			if h.Count("SELECT count(*) FROM magic_links l JOIN users u ON u.id = l.user_id WHERE u.email = $1 AND l.token_hash = encode(sha256($2::bytea), 'hex')", email, token) != 1 {
				t.Fatal("link row")
			}
			body := map[string]any{"token": token, "email": linkEmail, "password": strongPassword, "password_confirmation": strongPassword}
			r = h.post("/api/v1/auth/register/set-password", body, lang)
			expect(t, r, 200, "TOKEN_ISSUED")
			tok := testkit.Decode[api.TokenIssuedResponse](t, r).AccessToken
			if a := h.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: tok}); a.Status == 401 {
				t.Fatalf("token refused: %s", a.Body)
			}
			if h.Count("SELECT count(*) FROM users u JOIN magic_links l ON l.user_id = u.id WHERE u.email = $1 AND u.status = 'active' AND l.used_at IS NOT NULL", email) != 1 ||
				h.Count("SELECT count(*) FROM audit_events a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND a.action = 'auth.registration.activated' AND a.details->>'method' = 'magic_link'", email) != 1 {
				t.Fatal("activation state")
			}
			// Single use; then the address is taken.
			expect(t, h.post("/api/v1/auth/register/set-password", body, lang), 410, "MAGIC_LINK_INVALID")
			expect(t, h.post("/api/v1/auth/register-email", map[string]any{"email": email}, lang), 409, "EMAIL_ALREADY_USED")
			expect(t, h.post("/api/v1/register-email/resend", map[string]any{"email": email}, lang), 409, "EMAIL_ALREADY_ACTIVE")
		})
	}
}

func TestMagicLinkRefusals(t *testing.T) {
	h := start(t)
	email := newEmail()
	expect(t, h.post("/api/v1/auth/register-email", map[string]any{"email": email}, "en"), 200, "MAGIC_LINK_SENT")
	first, _ := linkOf(t, h.mb.Next(email))
	body := func(token, email string) map[string]any {
		return map[string]any{"token": token, "email": email, "password": strongPassword, "password_confirmation": strongPassword}
	}
	// Another email with a valid token, an unknown token: the same answer.
	r := h.post("/api/v1/auth/register/set-password", body(first, newEmail()), "fr", "10.2.0.1")
	expect(t, r, 410, "MAGIC_LINK_INVALID")
	if !strings.HasPrefix(r.Message(), "Ce lien est invalide") {
		t.Fatalf("fr message %q", r.Message())
	}
	expect(t, h.post("/api/v1/auth/register/set-password", body(strings.Repeat("a", 64), email), "en", "10.2.0.2"), 410, "MAGIC_LINK_INVALID")
	expect(t, h.post("/api/v1/auth/register/set-password", body("short", email), "en", "10.2.0.2"), 422, "VALIDATION_FAILED")

	// A resend replaces the link (after the cooldown).
	expectRateLimited(t, h.post("/api/v1/register-email/resend", map[string]any{"email": email}, "en"))
	h.Clock.Advance(61 * time.Second)
	expect(t, h.post("/api/v1/register-email/resend", map[string]any{"email": email}, "en"), 200, "MAGIC_LINK_SENT")
	second, _ := linkOf(t, h.mb.Next(email))
	expect(t, h.post("/api/v1/auth/register/set-password", body(first, email), "en", "10.2.0.3"), 410, "MAGIC_LINK_INVALID")
	// Fifteen minutes later the new one is dead too.
	h.Clock.Advance(15*time.Minute + time.Second)
	expect(t, h.post("/api/v1/auth/register/set-password", body(second, email), "en", "10.2.0.3"), 410, "MAGIC_LINK_INVALID")
	if h.Count("SELECT count(*) FROM users WHERE email = $1 AND status = 'pending' AND password_hash IS NULL", email) != 1 {
		t.Fatal("a refused link activated the account")
	}
}
