package registration_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// From send to an authenticated request, using only what the e-mail contained, in both languages.
func TestOTPRegistrationEndToEnd(t *testing.T) {
	h := start(t)
	want := map[string]struct{ sent, valid, issued, subject string }{
		"fr": {"Code envoyé.", "Code valide.", "Jeton émis.", "Votre code de vérification Flowxi"},
		"en": {"OTP sent.", "OTP valid.", "Token issued.", "Your Flowxi verification code"},
	}
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			email := newEmail()
			// Trimmed and lower-cased before anything else.
			r := h.post("/api/v1/register-email-code/send", map[string]any{"email": "  " + strings.ToUpper(email) + " "}, lang)
			expect(t, r, 200, "OTP_SENT")
			if r.Message() != want[lang].sent || r.Header.Get("Content-Language") != lang {
				t.Fatalf("message %q, language %q", r.Message(), r.Header.Get("Content-Language"))
			}
			m := h.mb.Next(email)
			code := m.OTP()
			if m.Subject != want[lang].subject || len(code) != 6 || !strings.Contains(m.HTML, code) {
				t.Fatalf("mail: subject %q, code %q", m.Subject, code)
			}
			var id int64
			var status, locale, username string
			if err := h.QueryRow("SELECT id, status, locale, username FROM users WHERE email = $1", email).Scan(&id, &status, &locale, &username); err != nil {
				t.Fatal(err)
			}
			if status != "pending" || locale != lang || len(username) != 10 || !strings.HasPrefix(username, "fx") || !strings.HasSuffix(username, strconv.FormatInt(id, 10)) {
				t.Fatalf("user %d %s %s %s", id, status, locale, username)
			}
			if h.Count("SELECT count(*) FROM notification_preferences WHERE user_id = $1 AND email_enabled AND inapp_enabled AND NOT push_enabled", id) != 1 {
				t.Fatal("notification preferences")
			}
			// The code is stored only as a MAC (the HMAC key's 5-byte version header, then 32
			// bytes); the sent e-mail's body is wiped.
			if h.Count("SELECT count(*) FROM email_otps WHERE user_id = $1 AND length(code_mac) = 37 AND position($2::bytea in code_mac) = 0", id, code) != 1 {
				t.Fatal("otp row")
			}
			waitSent(t, h, email)

			r = h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": code}, lang)
			expect(t, r, 200, "OTP_VALID")
			if !testkit.Decode[api.OtpVerifyResponse](t, r).Valid || r.Message() != want[lang].valid {
				t.Fatalf("verify: %s", r.Body)
			}
			if h.Count("SELECT count(*) FROM users WHERE id = $1 AND status = 'pending'", id) != 1 {
				t.Fatal("verify activated the account")
			}

			body := setPasswordBody(email, code)
			body["device_id"], body["device_type"], body["device_name"] = "dev-"+lang, "ios", "iPhone"
			r = h.post("/api/v1/register-email-code/set-password", body, lang)
			expect(t, r, 200, "TOKEN_ISSUED")
			issued := testkit.Decode[api.TokenIssuedResponse](t, r)
			if issued.AccountStatus != "active" || issued.TokenType != "Bearer" || issued.UserId != id || r.Message() != want[lang].issued {
				t.Fatalf("set-password: %s", r.Body)
			}
			tok := issued.AccessToken
			for _, path := range []string{"/api/v1/auth/devices", "/api/v1/me"} {
				if a := h.Do(testkit.Req{Method: "GET", Path: path, Token: tok}); a.Status == 401 {
					t.Fatalf("%s refused the new token: %s", path, a.Body)
				}
			}
			if h.Count(`SELECT count(*) FROM users WHERE id = $1 AND status = 'active' AND password_hash LIKE '$argon2id$%' AND email_verified_at IS NOT NULL`, id) != 1 ||
				h.Count("SELECT count(*) FROM email_otps WHERE user_id = $1", id) != 0 ||
				h.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = $2 AND device_type = 'ios' AND revoked_at IS NULL", id, "dev-"+lang) != 1 ||
				h.Count("SELECT count(*) FROM known_devices WHERE user_id = $1", id) != 1 ||
				h.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'auth.registration.activated' AND details->>'method' = 'otp'", id) != 1 {
				t.Fatal("activation state")
			}

			// The code is single-use and the account is now taken.
			expect(t, h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, code), lang), 410, "OTP_EXPIRED")
			expect(t, h.post("/api/v1/register-email-code/send", map[string]any{"email": email}, lang), 409, "EMAIL_ALREADY_USED")
			expect(t, h.post("/api/v1/register-email-code/resend", map[string]any{"email": email}, lang), 409, "EMAIL_ALREADY_ACTIVE")
		})
	}
}

func TestOTPBadInput(t *testing.T) {
	h := start(t)
	email := newEmail()
	code := h.sendCode(email, "en")
	wrong := testkit.WrongCode(code)
	cases := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		code   string
		fields []string
	}{
		{"malformed email", "/api/v1/register-email-code/send", map[string]any{"email": "not-an-email"}, 422, "VALIDATION_FAILED", []string{"email"}},
		{"short code", "/api/v1/register-email-code/verify", map[string]any{"email": email, "code": "123"}, 422, "VALIDATION_FAILED", []string{"code"}},
		{"unknown email", "/api/v1/register-email-code/verify", map[string]any{"email": newEmail(), "code": code}, 410, "OTP_EXPIRED", nil},
		{"wrong code", "/api/v1/register-email-code/verify", map[string]any{"email": email, "code": wrong}, 403, "OTP_INVALID", nil},
		{"confirmation mismatch", "/api/v1/register-email-code/set-password", map[string]any{"email": email, "code": code, "password": strongPassword, "password_confirmation": strongPassword + "x"}, 422, "VALIDATION_FAILED", []string{"password_confirmation"}},
		{"common password", "/api/v1/register-email-code/set-password", map[string]any{"email": email, "code": code, "password": "Password123", "password_confirmation": "Password123"}, 422, "VALIDATION_FAILED", []string{"password"}},
		{"password with email", "/api/v1/register-email-code/set-password", map[string]any{"email": email, "code": code, "password": "x" + strings.Split(email, "@")[0] + "!", "password_confirmation": "x" + strings.Split(email, "@")[0] + "!"}, 422, "VALIDATION_FAILED", []string{"password"}},
		{"device without name", "/api/v1/register-email-code/set-password", map[string]any{"email": email, "code": code, "password": strongPassword, "password_confirmation": strongPassword, "device_id": "d1"}, 422, "VALIDATION_FAILED", []string{"device_name", "device_type"}},
		{"wrong code on set-password", "/api/v1/register-email-code/set-password", setPasswordBody(email, wrong), 403, "OTP_INVALID", nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []string{"fr", "en"} {
				// One client IP per case: set-password allows 5 tries per email+IP.
				r := h.post(tc.path, tc.body, lang, "10.1."+strconv.Itoa(i)+".1")
				expect(t, r, tc.status, tc.code)
				if got := r.Errors(); len(got) != len(tc.fields) {
					t.Fatalf("errors %v, want %v", got, tc.fields)
				}
				for _, f := range tc.fields {
					if _, ok := r.Errors()[f]; !ok {
						t.Fatalf("no error on %s: %s", f, r.Body)
					}
				}
				if lang == "fr" && tc.code == "OTP_INVALID" && r.Message() != "Code invalide." {
					t.Fatalf("fr message %q", r.Message())
				}
				if lang == "en" && tc.code == "OTP_EXPIRED" && !strings.HasPrefix(r.Message(), "This code has expired") {
					t.Fatalf("en message %q", r.Message())
				}
			}
		})
	}
	// Nothing was activated; four wrong tries were counted (two per language), the code is alive.
	if h.Count("SELECT count(*) FROM users WHERE email = $1 AND status = 'pending'", email) != 1 ||
		h.Count("SELECT count(*) FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1", email) != 0 ||
		h.Count("SELECT attempts FROM email_otps o JOIN users u ON u.id = o.user_id WHERE u.email = $1", email) != 4 {
		t.Fatal("bad input changed state")
	}
	// The fifth wrong try invalidates the code: the right one is then refused as expired.
	expect(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": wrong}, "en"), 403, "OTP_INVALID")
	expect(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": code}, "en"), 410, "OTP_EXPIRED")
}

func TestOTPExpiryAndResend(t *testing.T) {
	h := start(t)
	email := newEmail()
	first := h.sendCode(email, "fr")
	// Resend within the cooldown is refused with the time left.
	r := h.post("/api/v1/register-email-code/resend", map[string]any{"email": email}, "fr")
	expectRateLimited(t, r)
	if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); secs > 60 {
		t.Fatalf("Retry-After %d exceeds the cooldown", secs)
	}
	h.Clock.Advance(61 * time.Second)
	expect(t, h.post("/api/v1/register-email-code/resend", map[string]any{"email": email}, "en"), 200, "OTP_SENT")
	m := h.mb.Next(email)
	second := m.OTP()
	if m.Subject != "Your Flowxi verification code" {
		t.Fatalf("resend e-mail not in the request's language: %q", m.Subject)
	}
	if second != first {
		// The new code replaces the old one.
		expect(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": first}, "en"), 403, "OTP_INVALID")
	}
	expect(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": second}, "en"), 200, "OTP_VALID")
	// Ten minutes later the code is dead, for verify and for set-password.
	h.Clock.Advance(10*time.Minute + time.Second)
	expect(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": second}, "en"), 410, "OTP_EXPIRED")
	expect(t, h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, second), "en"), 410, "OTP_EXPIRED")
	if h.Count("SELECT count(*) FROM users WHERE email = $1 AND status = 'pending' AND password_hash IS NULL", email) != 1 {
		t.Fatal("expired code activated the account")
	}
}

// waitSent waits until every outbox row to email is sent, and checks its body was wiped.
func waitSent(t *testing.T, h harness, email string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND (status <> 'sent' OR body_enc IS NOT NULL OR sent_at IS NULL)", email) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("outbox rows not marked sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
