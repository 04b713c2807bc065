package identity_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/testkit"
)

func TestLoginIssuesDeviceToken(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithoutToken(), testkit.WithLocale("en"))
	for _, lang := range []struct{ header, msg string }{{"fr", "Connexion réussie."}, {"en", "Login successful."}} {
		// The e-mail is trimmed and lower-cased before the lookup.
		r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Headers: map[string]string{"X-App-Locale": lang.header},
			JSON: map[string]any{"email": "  " + strings.ToUpper(u.Email) + " ", "password": u.Password, "device_id": "phone-1", "device_type": "ios", "device_name": "iPhone", "country": "BJ"}})
		if r.Status != 200 || r.Code() != "LOGIN_SUCCESS" || r.Message() != lang.msg {
			t.Fatalf("%s: %d %s", lang.header, r.Status, r.Body)
		}
		d := testkit.DataOf[api.LoginTokenData](t, r)
		if d.MfaRequired || d.TokenType != "Bearer" || d.AccountStatus != "active" || d.UserId != u.ID {
			t.Fatalf("data %+v", d)
		}
		tok := d.AccessToken
		id, secret, ok := strings.Cut(tok, "|")
		if !ok || len(secret) != 40 {
			t.Fatalf("token format %q", tok)
		}
		// Only the SHA-256 of the secret is stored, with the device metadata.
		if n := env.Count(`SELECT count(*) FROM access_tokens WHERE id = $1 AND user_id = $2 AND device_id = 'phone-1'
			AND country = 'BJ' AND ip = '127.0.0.1' AND secret_hash = sha256(convert_to($3, 'UTF8')) AND revoked_at IS NULL`, id, u.ID, secret); n != 1 {
			t.Fatalf("token row not found for %s", id)
		}
		if n := env.Count(`SELECT count(*) FROM access_tokens WHERE position($1 in encode(secret_hash, 'escape')) > 0`, secret); n != 0 {
			t.Fatal("secret stored in clear")
		}
		if r := devices(env, tok); r.Status != 200 {
			t.Fatalf("token refused: %d %s", r.Status, r.Body)
		}
	}
	// Same device twice: one live token, the first one revoked.
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL`, u.ID); n != 1 {
		t.Fatalf("live tokens %d", n)
	}
	// One new-device e-mail (first login from phone-1 only), in the header's language of that request.
	if n := env.Count(`SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'new_device' AND locale = 'fr'
		AND subject = 'Nouvelle connexion à votre compte Flowxi'`, u.Email); n != 1 {
		t.Fatalf("new-device mails %d", n)
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'auth.login.succeeded'`, u.ID); n != 2 {
		t.Fatalf("success audit events %d", n)
	}
}

func TestLoginWith2FAReturnsChallenge(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithoutToken())
	env.ExecSQL(`UPDATE users SET twofa_enabled = true WHERE id = $1`, u.ID)
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(u.Email, u.Password, "tab-9"),
		Headers: map[string]string{"User-Agent": "FlowxiApp/1.0", "X-App-Locale": "en"}})
	if r.Status != 200 || r.Code() != "MFA_REQUIRED" || r.Message() != "Two-factor verification required." {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	d := testkit.DataOf[api.LoginChallengeData](t, r)
	if !d.MfaRequired || d.OtpType != "totp" || d.ExpiresIn != 300 || testkit.DataOf[struct {
		AccessToken *string `json:"access_token"`
	}](t, r).AccessToken != nil {
		t.Fatalf("data %s", r.Body)
	}
	id := uuid.UUID(d.ChallengeId) // a challenge_id that is no UUID fails the decode
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1`, u.ID); n != 0 {
		t.Fatalf("%d tokens issued for a 2FA user", n)
	}
	ch, err := challenge.New(env.Cache()).Get(context.Background(), id.String(), env.Clock.Now())
	if err != nil {
		t.Fatalf("challenge not stored: %v", err)
	}
	if ch.UserID != u.ID || ch.IP != "127.0.0.1" || ch.UserAgent != "FlowxiApp/1.0" || ch.DeviceID != "tab-9" || ch.DeviceType != "ios" || ch.DeviceName != "iPhone tab-9" {
		t.Fatalf("challenge binding %+v", ch)
	}
	ttl := env.Redis().TTL(context.Background(), env.Cfg.RedisPrefix+"challenge:{"+id.String()+"}").Val()
	if ttl <= 290e9 || ttl > 300e9 {
		t.Fatalf("challenge TTL %v", ttl)
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'auth.login.mfa_required'`, u.ID); n != 1 {
		t.Fatalf("audit %d", n)
	}
	// A wrong password for a 2FA user is the usual 401 and creates no challenge.
	if r := login(env, u.Email, "wrong-password", "tab-9"); r.Status != 401 || r.Code() != "INVALID_CREDENTIALS" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestLoginUpgradesOldHash(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithoutToken())
	old, err := password.New(password.Params{MemoryKiB: 512, Time: 1, Threads: 1}).Hash(context.Background(), u.Password)
	if err != nil {
		t.Fatal(err)
	}
	env.ExecSQL(`UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, old)
	stored := func() string {
		var h string
		if err := env.QueryRow(`SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if r := login(env, u.Email, "wrong-password", "d1"); r.Status != 401 || stored() != old {
		t.Fatalf("wrong password changed the hash: %d", r.Status)
	}
	mustLogin(env, u.Email, u.Password, "d1")
	want := "$argon2id$v=19$m=" + strconv.Itoa(int(env.Cfg.Argon2MemoryKiB)) + ",t=" + strconv.Itoa(int(env.Cfg.Argon2Time)) + ",p=1$"
	if h := stored(); !strings.HasPrefix(h, want) {
		t.Fatalf("hash not upgraded: %s", h[:strings.LastIndex(h, "$")])
	}
	mustLogin(env, u.Email, u.Password, "d1") // the upgraded hash verifies
}

func TestLoginValidation(t *testing.T) {
	env := testkit.New(t)
	before := env.Count(`SELECT count(*) FROM audit_events WHERE action LIKE 'auth.login%'`)
	full := loginBody("ada@example.com", "secret-password", "d1")
	for _, field := range []string{"email", "password", "device_id", "device_type", "device_name"} {
		body := map[string]any{}
		for k, v := range full {
			if k != field {
				body[k] = v
			}
		}
		for _, lang := range []string{"fr", "en"} {
			r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: body, Headers: map[string]string{"X-App-Locale": lang}})
			if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || len(r.Errors()) != 1 || r.Errors()[field] == nil {
				t.Fatalf("missing %s (%s): %d %s", field, lang, r.Status, r.Body)
			}
		}
	}
	long := loginBody("ada@example.com", "secret-password", strings.Repeat("d", 256))
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: long}); r.Status != 422 || r.Errors()["device_id"] == nil {
		t.Fatalf("long device_id: %d %s", r.Status, r.Body)
	}
	// Nothing was attempted: no audit event.
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE action LIKE 'auth.login%'`); n != before {
		t.Fatalf("%d audit events for invalid requests", n-before)
	}
}

// TestNewDeviceEmailArrives: the new-device e-mail really leaves through SMTP, in the user's
// language when no header chose one, once per device.
func TestNewDeviceEmailArrives(t *testing.T) {
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, mb.Use)
	u := env.CreateUser(testkit.WithoutToken(), testkit.WithLocale("en"))
	mustLogin(env, u.Email, u.Password, "laptop-1")
	m := mb.Next(u.Email)
	if m.Subject != "New sign-in to your Flowxi account" || !strings.Contains(m.Text, "iPhone laptop-1 (ios)") || !strings.Contains(m.Text, "127.0.0.1") {
		t.Fatalf("mail %q:\n%s", m.Subject, m.Text)
	}
	if strings.Contains(m.Text, "|") {
		t.Fatalf("mail carries a token: %s", m.Text)
	}
	// Logging in again from laptop-1 sends nothing: the next mail is the one for laptop-2.
	mustLogin(env, u.Email, u.Password, "laptop-1")
	mustLogin(env, u.Email, u.Password, "laptop-2")
	if m := mb.Next(u.Email); !strings.Contains(m.Text, "iPhone laptop-2 (ios)") {
		t.Fatalf("second mail is not about laptop-2:\n%s", m.Text)
	}
	if got := len(mb.To(u.Email)); got != 2 {
		t.Fatalf("%d mails, want 2", got)
	}
}
