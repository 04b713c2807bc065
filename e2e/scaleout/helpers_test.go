// Package scaleout_test runs the platform past one machine on real engines started by the
// tests: Redis down and back, a Redis Cluster losing a primary, a PostgreSQL primary killed
// under transfer load and its synchronous standby promoted, instances behind HAProxy.
package scaleout_test

import (
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

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

// enroll turns 2FA on for u through the API and returns the secret.
func enroll(t testing.TB, env *testkit.Env, u testkit.User) string {
	t.Helper()
	secret, _ := env.Enroll2FA(u)
	return secret
}

// login posts a password login of u from the test client.
func login(env *testkit.Env, u testkit.User, password string, lang string) *testkit.Resp {
	return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Headers: map[string]string{"X-App-Locale": lang},
		JSON: map[string]any{"email": u.Email, "password": password, "device_id": u.DeviceID, "device_type": "web", "device_name": "Test"}})
}
