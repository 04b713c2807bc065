package twofactor_test

import (
	"net/netip"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// The real flow: POST /auth/login of a 2FA user returns a challenge, verify-login turns it into
// the device token. The server trusts X-Forwarded-For from loopback here, so the test can log in
// from one client address and verify from another.
func TestLoginWith2FAEndToEnd(t *testing.T) {
	env := testkit.New(t, func(c *config.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for _, tc := range []struct{ lang, mfa, ok string }{
		{"fr", "Vérification en deux étapes requise.", "Connexion réussie."},
		{"en", "Two-factor verification required.", "Login successful."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u := env.CreateUser()
			secret, _ := enroll(t, env, u)
			from := func(ip, ua string) map[string]string {
				return map[string]string{"X-App-Locale": tc.lang, "X-Forwarded-For": ip, "User-Agent": ua}
			}
			login := func(h map[string]string) string {
				t.Helper()
				r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Headers: h, JSON: map[string]any{
					"email": u.Email, "password": u.Password, "device_id": "phone-" + tc.lang, "device_type": "ios", "device_name": "iPhone",
				}})
				d := testkit.DataOf[api.LoginChallengeData](t, r)
				if r.Status != 200 || r.Code() != "MFA_REQUIRED" || r.Message() != tc.mfa || !d.MfaRequired || testkit.DataOf[map[string]any](t, r)["access_token"] != nil {
					t.Fatalf("login: %d %s", r.Status, r.Body)
				}
				return d.ChallengeId.String()
			}
			home, ua := from("203.0.113.5", "FlowxiApp/1.0"), "FlowxiApp/1.0"

			// Another IP kills the challenge, even for a right code.
			id := login(home)
			if r := verifyLogin(env, id, code(t, env, secret, 0), from("198.51.100.9", ua)); r.Status != 410 || r.Code() != "CHALLENGE_EXPIRED" {
				t.Fatalf("other IP: %d %s", r.Status, r.Body)
			}
			if r := verifyLogin(env, id, code(t, env, secret, 0), home); r.Status != 410 {
				t.Fatalf("after IP mismatch: %d %s", r.Status, r.Body)
			}
			// So does another User-Agent.
			id = login(home)
			if r := verifyLogin(env, id, code(t, env, secret, 0), from("203.0.113.5", "curl/8.0")); r.Status != 410 {
				t.Fatalf("other User-Agent: %d %s", r.Status, r.Body)
			}
			// From the same client: a wrong code keeps the challenge, the right one logs in.
			id = login(home)
			if r := verifyLogin(env, id, wrongCode(t, env, secret), home); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
				t.Fatalf("wrong code: %d %s", r.Status, r.Body)
			}
			r := verifyLogin(env, id, code(t, env, secret, 0), home)
			if r.Status != 200 || r.Code() != "LOGIN_SUCCESS" || r.Message() != tc.ok || testkit.DataOf[api.LoginTokenData](t, r).UserId != u.ID {
				t.Fatalf("verify-login: %d %s", r.Status, r.Body)
			}
			tok := testkit.DataOf[api.LoginTokenData](t, r).AccessToken
			if s := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: tok}); s.Status != 200 || !testkit.Decode[api.TwofaStatusResponse](t, s).Enabled {
				t.Fatalf("token: %d %s", s.Status, s.Body)
			}
			if n := env.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = $2 AND revoked_at IS NULL AND ip = '203.0.113.5'", u.ID, "phone-"+tc.lang); n != 1 {
				t.Fatalf("%d live tokens for the device", n)
			}
		})
	}
}
