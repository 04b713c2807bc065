package twofactor_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/services/identity/stepup"
	"github.com/flowxi/backend/testkit"
)

const verifyPath = "/api/v1/auth/2fa/verify"

func stepUp(env *testkit.Env, token, c string) *testkit.Resp {
	return env.Do(testkit.Req{Method: "POST", Path: verifyPath, Token: token, JSON: map[string]any{"code": c}})
}

// Codes computed by oathtool for the previous and next step are accepted, ±2 steps are not.
func TestOathtoolCodesWithinOneStep(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	freshStep(env)
	// Increasing steps, so no accepted step is a replay of an earlier one.
	for _, tc := range []struct {
		steps int
		want  int
	}{{-2, 403}, {-1, 200}, {0, 200}, {1, 200}, {2, 403}} {
		r := stepUp(env, u.Token, code(t, env, secret, tc.steps))
		if r.Status != tc.want {
			t.Fatalf("code for step %+d: %d %s", tc.steps, r.Status, r.Body)
		}
	}
}

func TestReplayAndRecoveryCodes(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, recovery := enroll(t, env, u)
	c := code(t, env, secret, 0)
	if r := stepUp(env, u.Token, c); r.Status != 200 || r.Code() != "TWOFA_VERIFIED" || !testkit.Decode[api.TwofaVerifiedResponse](t, r).Success {
		t.Fatalf("first use: %d %s", r.Status, r.Body)
	}
	// The same code (its time step) is refused the second time, in any flow.
	if r := stepUp(env, u.Token, c); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
		t.Fatalf("replayed step-up: %d %s", r.Status, r.Body)
	}
	disable := func(c string) *testkit.Resp {
		return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/disable", Token: u.Token, JSON: map[string]any{"code": c}, Headers: lang("en")})
	}
	if r := disable(c); r.Status != 403 {
		t.Fatalf("replayed disable: %d %s", r.Status, r.Body)
	}
	if r := verifyLogin(env, newChallenge(t, env, u, "127.0.0.1", testUA).ID, c, nil); r.Status != 403 {
		t.Fatalf("replayed verify-login: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed' AND details->>'reason' = 'replayed'", u.ID); n != 3 {
		t.Fatalf("%d replay events, want 3", n)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $2 AND details::text LIKE '%' || $1 || '%'", c, u.ID); n != 0 {
		t.Fatal("a code was written to the audit log")
	}
	// A recovery code works once, typed in any case, wherever a TOTP code does.
	if r := stepUp(env, u.Token, " "+recovery[0]+" "); r.Status != 200 {
		t.Fatalf("recovery code at step-up: %d %s", r.Status, r.Body)
	}
	if r := verifyLogin(env, newChallenge(t, env, u, "127.0.0.1", testUA).ID, upper(recovery[1]), nil); r.Status != 200 {
		t.Fatalf("recovery code at login: %d %s", r.Status, r.Body)
	}
	if r := verifyLogin(env, newChallenge(t, env, u, "127.0.0.1", testUA).ID, recovery[1], nil); r.Status != 403 {
		t.Fatalf("spent recovery code: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM twofa_recovery_codes WHERE user_id = $1 AND used_at IS NULL", u.ID); n != 8 {
		t.Fatalf("%d unused recovery codes, want 8", n)
	}
	// Disable with a recovery code: secret and codes cleared, owner notified, sessions kept.
	r := disable(recovery[2])
	if r.Status != 200 || r.Code() != "TWOFA_DISABLED" || r.Message() != "2FA disabled." || testkit.Decode[api.TwofaDisabledResponse](t, r).Enabled {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM users WHERE id = $1 AND NOT twofa_enabled AND twofa_secret_enc IS NULL AND twofa_enabled_at IS NULL", u.ID); n != 1 {
		t.Fatal("2FA state not cleared")
	}
	if n := env.Count("SELECT count(*) FROM twofa_recovery_codes WHERE user_id = $1", u.ID); n != 0 {
		t.Fatalf("%d recovery codes left", n)
	}
	if n := env.Count("SELECT count(*) FROM mail_outbox WHERE template = 'twofa_disabled' AND to_address = $1", u.Email); n != 1 {
		t.Fatalf("%d disable e-mails", n)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.disabled' AND details->>'method' = 'recovery_code'", u.ID); n != 1 {
		t.Fatalf("%d disable events", n)
	}
	if r := disable(code(t, env, secret, 1)); r.Status != 409 || r.Code() != "TWOFA_NOT_ENABLED" || r.Message() != "2FA is not enabled." {
		t.Fatalf("disable twice: %d %s", r.Status, r.Body)
	}
	if r := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token}); r.Status != 200 || testkit.Decode[api.TwofaStatusResponse](t, r).Enabled {
		t.Fatalf("token after disable: %d %s", r.Status, r.Body)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestStepUpGrantsTheCallingTokenAWindow(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	svc := service(env)
	plain := env.CreateUser()
	if r := stepUp(env, plain.Token, "123456"); r.Status != 409 || r.Code() != "TWOFA_NOT_ENABLED" {
		t.Fatalf("without 2FA: %d %s", r.Status, r.Body)
	}
	if err := svc.RequireStepUp(ctx, plain.ID, plain.TokenID); err != nil {
		t.Fatalf("a user without 2FA needs no step-up: %v", err)
	}
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	if err := svc.RequireStepUp(ctx, u.ID, u.TokenID); err != stepup.ErrRequired {
		t.Fatalf("before step-up: %v", err)
	}
	if r := stepUp(env, u.Token, wrongCode(t, env, secret)); r.Status != 403 {
		t.Fatalf("wrong code: %d", r.Status)
	}
	if err := svc.RequireStepUp(ctx, u.ID, u.TokenID); err != stepup.ErrRequired {
		t.Fatalf("a wrong code granted a window: %v", err)
	}
	if r := stepUp(env, u.Token, code(t, env, secret, 0)); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	if err := svc.RequireStepUp(ctx, u.ID, u.TokenID); err != nil {
		t.Fatalf("after step-up: %v", err)
	}
	ttl := env.Redis().TTL(ctx, env.Cfg.RedisPrefix+"stepup:{tok"+strconv.FormatInt(u.TokenID, 10)+"}").Val()
	if ttl <= 4*time.Minute || ttl > 5*time.Minute {
		t.Fatalf("window %v, want 5 min", ttl)
	}
	// Only the calling token: another session of the same user still needs its own step-up.
	if err := svc.RequireStepUp(ctx, u.ID, u.TokenID+1000); err != stepup.ErrRequired {
		t.Fatalf("another token: %v", err)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.stepup'", u.ID); n != 1 {
		t.Fatalf("%d step-up events", n)
	}
}

// Enabled and Verify are what password reset calls.
func TestVerifyForOtherServices(t *testing.T) {
	env := testkit.New(t)
	ctx := context.Background()
	svc := service(env)
	u := env.CreateUser()
	if on, err := svc.Enabled(ctx, u.ID); err != nil || on {
		t.Fatalf("enabled before: %v %v", on, err)
	}
	secret, recovery := enroll(t, env, u)
	if on, err := svc.Enabled(ctx, u.ID); err != nil || !on {
		t.Fatalf("enabled after: %v %v", on, err)
	}
	is := func(err error, code string) bool { ae, ok := apierr.As(err); return ok && ae.Code == code }
	if err := svc.Verify(ctx, u.ID, ""); !is(err, "INVALID_2FA_CODE") {
		t.Fatalf("empty: %v", err)
	}
	if err := svc.Verify(ctx, u.ID, wrongCode(t, env, secret)); !is(err, "INVALID_2FA_CODE") {
		t.Fatalf("wrong: %v", err)
	}
	c := code(t, env, secret, 0)
	if err := svc.Verify(ctx, u.ID, c); err != nil {
		t.Fatalf("valid: %v", err)
	}
	if err := svc.Verify(ctx, u.ID, c); !is(err, "INVALID_2FA_CODE") {
		t.Fatalf("replayed: %v", err)
	}
	if err := svc.Verify(ctx, u.ID, recovery[0]); err != nil {
		t.Fatalf("recovery: %v", err)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed' AND details->>'purpose' = 'password_reset'", u.ID); n != 2 {
		t.Fatalf("%d failures recorded, want 2 (the empty code is not an attempt)", n)
	}
}
