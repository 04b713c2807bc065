package identity_test

import (
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// loginBody is a valid login request for email/password from device.
func loginBody(email, password, device string) map[string]any {
	return map[string]any{"email": email, "password": password, "device_id": device, "device_type": "ios", "device_name": "iPhone " + device}
}

// login posts a login and returns the response.
func login(env *testkit.Env, email, password, device string, headers ...map[string]string) *testkit.Resp {
	env.T.Helper()
	r := testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(email, password, device)}
	if len(headers) > 0 {
		r.Headers = headers[0]
	}
	return env.Do(r)
}

// mustLogin logs in and returns the access token.
func mustLogin(env *testkit.Env, email, password, device string) string {
	env.T.Helper()
	r := login(env, email, password, device)
	if r.Status != 200 || r.Code() != "LOGIN_SUCCESS" {
		env.T.Fatalf("login %s/%s: %d %s", email, device, r.Status, r.Body)
	}
	tok := testkit.DataOf[api.LoginTokenData](env.T, r).AccessToken
	if tok == "" {
		env.T.Fatalf("no token: %s", r.Body)
	}
	return tok
}

// devices lists the caller's devices; status tells whether the token was accepted.
func devices(env *testkit.Env, token string) *testkit.Resp {
	env.T.Helper()
	return env.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/devices", Token: token})
}
