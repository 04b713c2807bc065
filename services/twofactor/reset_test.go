package twofactor_test

import (
	"testing"

	"github.com/flowxi/backend/testkit"
)

// Password reset of a 2FA user needs a valid second factor, computed here by oathtool, and
// shares replay protection and failure counting with the 2FA endpoints.
func TestPasswordResetNeedsAValidSecondFactor(t *testing.T) {
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, mb.Use)
	u := env.CreateUser(testkit.WithLocale("en"))
	secret, _ := enroll(t, env, u)
	post := func(path string, body map[string]any) *testkit.Resp {
		return env.Do(testkit.Req{Method: "POST", Path: path, JSON: body, Headers: lang("en")})
	}
	if r := post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}); r.Status != 200 {
		t.Fatalf("forgot: %d %s", r.Status, r.Body)
	}
	m := mb.Next(u.Email)
	for m.Subject != "Reset your Flowxi password" { // skip the 2FA notice
		m = mb.Next(u.Email)
	}
	pw := "Quartz-Meadow-Lantern-7"
	body := map[string]any{"email": u.Email, "code": m.OTP(), "password": pw, "password_confirmation": pw}
	for _, second := range []any{nil, wrongCode(t, env, secret)} {
		if second != nil {
			body["twofa_code"] = second
		}
		if r := post("/api/v1/auth/password/reset", body); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
			t.Fatalf("second factor %v: %d %s", second, r.Status, r.Body)
		}
	}
	c := code(t, env, secret, 0)
	body["twofa_code"] = c
	if r := post("/api/v1/auth/password/reset", body); r.Status != 200 || r.Code() != "PASSWORD_RESET_SUCCESS" {
		t.Fatalf("valid code: %d %s", r.Status, r.Body)
	}
	// The code's time step is spent: the same code is refused at login.
	if r := verifyLogin(env, newChallenge(t, env, u, "127.0.0.1", testUA).ID, c, nil); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
		t.Fatalf("code replayed after reset: %d %s", r.Status, r.Body)
	}
	// The wrong code counted in the account's failure window (the missing one did not).
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed' AND details->>'purpose' = 'password_reset'", u.ID); n != 1 {
		t.Fatalf("%d reset failures recorded, want 1", n)
	}
}
