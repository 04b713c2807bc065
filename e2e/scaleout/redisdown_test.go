package scaleout_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

// With Redis down, everything that needs Redis refuses 503 SERVICE_UNAVAILABLE (localized):
// login is not let through without its rate limits and guessing budget, verify-login not
// without its challenge, step-up not without its grant; a transfer that needs no step-up does
// not touch Redis and goes through; /readyz and /health name Redis. Once Redis is back, login
// works again.
func TestRedisDownRefusesWhatNeedsItAndMovesMoneyWithoutIt(t *testing.T) {
	rd := testkit.StartRedis(t)
	env := testkit.New(t, func(c *config.Config) { c.RedisURL = rd.URL() + "?max_retries=-1" })
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	alice, bob, carol := env.CreateUser(), env.CreateUser(), env.CreateUser()
	secret := enroll(t, env, carol)
	aw, cw := m.Wallet(alice, "EUR"), m.Wallet(carol, "EUR")
	m.Wallet(bob, "EUR")
	m.Deposit(aw, 10_000, "EUR")
	m.Deposit(cw, 10_000, "EUR")
	ch := login(env, carol, carol.Password, "fr")
	if ch.Status != 200 || ch.Code() != "MFA_REQUIRED" {
		t.Fatalf("login before the outage: %d %s", ch.Status, ch.Body)
	}
	challengeID := ch.Data()["challenge_id"]

	rd.Kill()
	unavailable := func(what string, r *testkit.Resp, msg string) {
		t.Helper()
		if r.Status != 503 || r.Code() != "SERVICE_UNAVAILABLE" || r.Message() != msg {
			t.Errorf("%s with Redis down: %d %s, want 503 SERVICE_UNAVAILABLE %q", what, r.Status, r.Body, msg)
		}
	}
	const fr, en = "Service temporairement indisponible.", "Service temporarily unavailable."
	unavailable("login (right password)", login(env, alice, alice.Password, "fr"), fr)
	unavailable("login (wrong password)", login(env, alice, "wrong-password-1", "en"), en)
	unavailable("verify-login", env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/verify-login",
		JSON: map[string]any{"challenge_id": challengeID, "code": code(t, env, secret, 0)}}), fr)
	unavailable("step-up", env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/verify", Token: carol.Token,
		JSON: map[string]any{"code": code(t, env, secret, 0)}}), fr)
	unavailable("transfer needing a step-up", m.Transfer(carol, cw, bob.Username, 100, "EUR"), fr)
	unavailable("registration code", env.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send",
		JSON: map[string]any{"email": "new-" + strings.ToLower(alice.Username) + "@example.com"}}), fr)

	// Money that needs no step-up does not depend on Redis.
	if r := m.Transfer(alice, aw, bob.Username, 250, "EUR"); r.Status != 201 {
		t.Fatalf("transfer with Redis down: %d %s", r.Status, r.Body)
	}
	if r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: alice.Token}); r.Status != 200 {
		t.Fatalf("me with Redis down: %d %s", r.Status, r.Body)
	}
	if h := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health"}); h.Status != 503 || !strings.Contains(string(h.Body), `"redis":"fail"`) {
		t.Errorf("health with Redis down: %d %s", h.Status, h.Body)
	}
	if status, body := readyz(t, env); status != 503 || !strings.Contains(body, "redis fail") || !strings.Contains(body, "postgres ok") {
		t.Errorf("readyz with Redis down: %d %q", status, body)
	}

	if err := rd.Restart(); err != nil {
		t.Fatal(err)
	}
	// The client's pool redials in the background; readiness turns 200 once it has.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if status, _ := readyz(t, env); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz not 200 after Redis came back")
		}
	}
	if r := login(env, alice, alice.Password, "fr"); r.Status != 200 || r.Code() != "LOGIN_SUCCESS" {
		t.Fatalf("login once Redis is back: %d %s", r.Status, r.Body)
	}
	env.Invariants()
}

// readyz asks the operations listener whether the instance is ready.
func readyz(t *testing.T, env *testkit.Env) (int, string) {
	t.Helper()
	ops := httptest.NewServer(env.OpsHandler())
	defer ops.Close()
	res, err := ops.Client().Get(ops.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
