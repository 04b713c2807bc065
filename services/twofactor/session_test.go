package twofactor_test

import (
	"context"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/testkit"
)

// TestEnrollmentSecretBelongsToOneSession: two tokens of one user each get their own pending
// secret; a code of the secret shown to one token does not enable 2FA through the other (a
// stolen token cannot enroll — or read — its owner's secret); enabling and disabling e-mail
// the owner.
func TestEnrollmentSecretBelongsToOneSession(t *testing.T) {
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, mb.Use)
	u := env.CreateUser(testkit.WithLocale("en"))
	login := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{
		"email": u.Email, "password": u.Password, "device_id": "thief", "device_type": "web", "device_name": "Other browser"}})
	if login.Status != 200 {
		t.Fatalf("second login: %d %s", login.Status, login.Body)
	}
	other := testkit.DataOf[api.LoginTokenData](t, login).AccessToken
	enable := func(token, c string) *testkit.Resp {
		return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: token, JSON: map[string]any{"code": c}})
	}
	// A token that never asked for a secret has none, whatever the other token did.
	ownerSt := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token})
	ownerSecret := ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, ownerSt).Secret)
	freshStep(env)
	if r := enable(other, code(t, env, ownerSecret, 0)); r.Status != 410 || r.Code() != "TWOFA_ENROLLMENT_EXPIRED" {
		t.Fatalf("other token, no secret of its own: %d %s", r.Status, r.Body)
	}
	otherSt := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: other})
	otherSecret := ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, otherSt).Secret)
	if ownerSecret == "" || otherSecret == "" || otherSecret == ownerSecret {
		t.Fatalf("secrets: owner %q, other token %q (want two different ones)", ownerSecret, otherSecret)
	}
	if again := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token}); ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, again).Secret) != ownerSecret {
		t.Fatalf("the owner's secret changed: %s", again.Body)
	}
	if r := enable(other, code(t, env, ownerSecret, 0)); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
		t.Fatalf("other token with the owner's code: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM users WHERE id = $1 AND twofa_enabled", u.ID); n != 0 {
		t.Fatal("2FA enabled through another session")
	}
	if r := enable(u.Token, code(t, env, ownerSecret, 0)); r.Status != 200 || r.Code() != "TWOFA_ENABLED" {
		t.Fatalf("owner: %d %s", r.Status, r.Body)
	}
	if m := mb.Next(u.Email); m.Subject == "" || !contains(t, env, "twofa_enabled", u.Email) {
		t.Fatalf("no enable e-mail (got %q)", m.Subject)
	}
	freshStep(env)
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/disable", Token: u.Token, JSON: map[string]any{"code": code(t, env, ownerSecret, 0)}})
	if r.Status != 200 || r.Code() != "TWOFA_DISABLED" {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if m := mb.Next(u.Email); m.Subject == "" || !contains(t, env, "twofa_disabled", u.Email) {
		t.Fatalf("no disable e-mail (got %q)", m.Subject)
	}
}

// contains reports one outbox e-mail of template to addr.
func contains(t *testing.T, env *testkit.Env, template, addr string) bool {
	return env.Count("SELECT count(*) FROM mail_outbox WHERE template = $1 AND to_address = $2", template, addr) == 1
}

// TestVerifyLoginRecordsTheRightCodeEvenWhenIssuingFails: a right second factor whose token
// cannot be stored answers 500, and the accepted code is audited (a trace the owner sees).
func TestVerifyLoginRecordsTheRightCodeEvenWhenIssuingFails(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	ctx := context.Background()
	env.RefuseTokensFor("Refused Phone")
	ch, err := challenge.New(env.Cache()).Create(ctx, challenge.Challenge{
		UserID: u.ID, IP: "127.0.0.1", UserAgent: testUA, DeviceID: "refused", DeviceType: "ios", DeviceName: "Refused Phone",
	}, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := verifyLogin(env, ch.ID, code(t, env, secret, 0), nil); r.Status != 500 || r.Code() != "SERVER_ERROR" {
		t.Fatalf("right code, refused token: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = 'refused'", u.ID); n != 0 {
		t.Fatal("a token was stored")
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action LIKE 'auth.login.%' AND details->>'device_id' = 'refused'", u.ID); n != 1 {
		t.Fatalf("%d rows for the accepted second factor whose token failed, want 1", n)
	}
}
