package twofactor_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

const statusPath = "/api/v1/auth/2fa/status"

func TestStatusHandsOutOnePendingSecretAndWritesNothing(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	first := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token, Headers: lang("fr")})
	if first.Status != 200 || first.Code() != "TWOFA_STATUS" || first.Message() != "La 2FA est désactivée." {
		t.Fatalf("fr: %d %s", first.Status, first.Body)
	}
	fst := testkit.Decode[api.TwofaStatusResponse](t, first)
	secret := ptr.Value(fst.Secret)
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secret) {
		t.Fatalf("secret %q is not 20 bytes of base32", secret)
	}
	if want := "otpauth://totp/Flowxi:" + u.Email + "?secret=" + secret + "&issuer=Flowxi"; ptr.Value(fst.OtpauthUri) != want {
		t.Fatalf("uri %v, want %s", ptr.Value(fst.OtpauthUri), want)
	}
	if ptr.Value(fst.ExpiresIn) != 600 || fst.Issuer != "Flowxi" || string(fst.Email) != u.Email {
		t.Fatalf("body %s", first.Body)
	}
	// Reused while valid, with the countdown running on the server clock.
	env.Clock.Advance(100 * time.Second)
	again := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token, Headers: lang("en")})
	if ag := testkit.Decode[api.TwofaStatusResponse](t, again); ptr.Value(ag.Secret) != secret || ptr.Value(ag.ExpiresIn) != 500 || again.Message() != "2FA is disabled." {
		t.Fatalf("second read: %s", again.Body)
	}
	// Once expired, a new secret.
	env.Clock.Advance(501 * time.Second)
	third := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token})
	if th := testkit.Decode[api.TwofaStatusResponse](t, third); ptr.Value(th.Secret) == secret || ptr.Value(th.ExpiresIn) != 600 {
		t.Fatalf("expired secret reused: %s", third.Body)
	}
	if n := env.Count("SELECT count(*) FROM users WHERE id = $1 AND (twofa_enabled OR twofa_secret_enc IS NOT NULL OR twofa_last_step IS NOT NULL)", u.ID); n != 0 {
		t.Fatal("status wrote 2FA state to PostgreSQL")
	}
	if n := env.Count("SELECT count(*) FROM twofa_recovery_codes WHERE user_id = $1", u.ID); n != 0 {
		t.Fatal("status wrote recovery codes")
	}
}

func TestEnableFailures(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	enable := func(c string, l string) *testkit.Resp {
		return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": c}, Headers: lang(l)})
	}
	// No pending secret yet.
	if r := enable("123456", "en"); r.Status != 410 || r.Code() != "TWOFA_ENROLLMENT_EXPIRED" || r.Message() != "The 2FA enrollment has expired. Please start again." {
		t.Fatalf("no pending: %d %s", r.Status, r.Body)
	}
	st := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token})
	secret := ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).Secret)
	freshStep(env)
	if r := enable(wrongCode(t, env, secret), "fr"); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" || r.Message() != "Code 2FA invalide." {
		t.Fatalf("wrong code: %d %s", r.Status, r.Body)
	}
	if r := enable("12345", "fr"); r.Status != 422 || r.Errors()["code"] == nil {
		t.Fatalf("short code: %d %s", r.Status, r.Body)
	}
	// The pending secret expires on the server clock.
	env.Clock.Advance(601 * time.Second)
	if r := enable(code(t, env, secret, 0), "fr"); r.Status != 410 || r.Code() != "TWOFA_ENROLLMENT_EXPIRED" {
		t.Fatalf("expired: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM users WHERE id = $1 AND (twofa_enabled OR twofa_secret_enc IS NOT NULL)", u.ID); n != 0 {
		t.Fatal("a failed enable stored 2FA state")
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed' AND details->>'purpose' = 'enable'", u.ID); n != 1 {
		t.Fatalf("%d failure events, want 1", n)
	}
	// 5 per minute per user + IP (the 422 never reached the service): the 6th attempt is
	// refused before anything is checked.
	for i := 0; i < 2; i++ {
		if r := enable("123456", "fr"); r.Status != 410 {
			t.Fatalf("attempt %d: %d", 4+i, r.Status)
		}
	}
	if r := enable("123456", "fr"); r.Status != 429 || r.Code() != "RATE_LIMITED" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d %s", r.Status, r.Body)
	}
}

func TestEnableCommitsAndShowsRecoveryCodesOnce(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithLocale("en"))
	secret, codes := enroll(t, env, u)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		// 24 symbols of a 32-letter alphabet: 120 bits.
		if !regexp.MustCompile(`^[a-km-np-z2-9]{6}(-[a-km-np-z2-9]{6}){3}$`).MatchString(c) || seen[c] {
			t.Fatalf("recovery code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	var enabled bool
	var enc []byte
	if err := env.QueryRow("SELECT twofa_enabled, twofa_secret_enc FROM users WHERE id = $1", u.ID).Scan(&enabled, &enc); err != nil {
		t.Fatal(err)
	}
	if !enabled || len(enc) == 0 {
		t.Fatalf("enabled=%v enc=%d bytes", enabled, len(enc))
	}
	rows := env.Query("SELECT code_hash FROM twofa_recovery_codes WHERE user_id = $1", u.ID)
	n := 0
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			if strings.Contains(string(h), strings.ReplaceAll(c, "-", "")) || strings.Contains(string(h), c) {
				t.Fatal("a recovery code is stored in clear")
			}
		}
		n++
	}
	if n != 10 {
		t.Fatalf("%d stored recovery codes", n)
	}
	// The pending secret is gone from Redis; the status no longer shows any secret; the token
	// used to enable still works (no logout).
	if keys := env.RedisKeys("twofa:pending:*"); len(keys) != 0 {
		t.Fatalf("pending secret left: %v", keys)
	}
	st := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token})
	if s := testkit.Decode[api.TwofaStatusResponse](t, st); st.Status != 200 || !s.Enabled || s.Secret != nil || s.OtpauthUri != nil || st.Message() != "2FA is enabled." {
		t.Fatalf("status after enable: %d %s", st.Status, st.Body)
	}
	if strings.Contains(string(st.Body), secret) {
		t.Fatal("secret returned after enable")
	}
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": code(t, env, secret, 0)}})
	if r.Status != 409 || r.Code() != "TWOFA_ALREADY_ENABLED" {
		t.Fatalf("second enable: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM mail_outbox WHERE template = 'twofa_enabled' AND to_address = $1 AND locale = 'en'", u.Email); n != 1 {
		t.Fatalf("%d enable e-mails", n)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.enabled'", u.ID); n != 1 {
		t.Fatalf("%d enable audit events", n)
	}
}
