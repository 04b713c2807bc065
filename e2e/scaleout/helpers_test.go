// Package scaleout_test runs the platform past one machine on real engines started by the
// tests: Redis down and back, a Redis Cluster losing a primary, a PostgreSQL primary killed
// under transfer load and its synchronous standby promoted, instances behind HAProxy.
package scaleout_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// code is the TOTP code of secret at the server's time, steps time steps away.
func code(t testing.TB, env *testkit.Env, secret string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, env.Clock.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nextStep moves the server clock into the first seconds of the next TOTP step, so a code
// computed now is not a replay of one already spent.
func nextStep(env *testkit.Env) {
	now := env.Clock.Now()
	into := time.Duration(now.Unix()%30)*time.Second + time.Duration(now.Nanosecond())
	env.Clock.Advance(30*time.Second - into + time.Second)
}

// enroll turns 2FA on for u through the API and returns the secret.
func enroll(t testing.TB, env *testkit.Env, u testkit.User) string {
	t.Helper()
	st := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	uri, err := url.Parse(ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).OtpauthUri))
	if err != nil || st.Status != 200 {
		t.Fatalf("2fa status: %d %v", st.Status, err)
	}
	secret := uri.Query().Get("secret")
	nextStep(env)
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": code(t, env, secret, 0)}})
	if r.Status != 200 {
		t.Fatalf("2fa enable: %d %s", r.Status, r.Body)
	}
	nextStep(env)
	return secret
}

// login posts a password login of u from the test client.
func login(env *testkit.Env, u testkit.User, password string, lang string) *testkit.Resp {
	return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Headers: map[string]string{"X-App-Locale": lang},
		JSON: map[string]any{"email": u.Email, "password": password, "device_id": u.DeviceID, "device_type": "web", "device_name": "Test"}})
}
