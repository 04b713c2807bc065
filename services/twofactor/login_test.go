package twofactor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/testkit"
)

const verifyLoginPath = "/api/v1/auth/2fa/verify-login"

func verifyLogin(env *testkit.Env, id, c string, headers map[string]string) *testkit.Resp {
	return env.Do(testkit.Req{Method: "POST", Path: verifyLoginPath, JSON: map[string]any{"challenge_id": id, "code": c}, Headers: headers})
}

func TestVerifyLoginIssuesTheDeviceTokenInBothLanguages(t *testing.T) {
	env := testkit.New(t)
	for _, tc := range []struct{ lang, wrong, ok string }{
		{"fr", "Code 2FA invalide.", "Connexion réussie."},
		{"en", "Invalid 2FA code.", "Login successful."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			u := env.CreateUser()
			secret, _ := enroll(t, env, u)
			ch := newChallenge(t, env, u, "127.0.0.1", testUA)
			r := verifyLogin(env, ch.ID, wrongCode(t, env, secret), lang(tc.lang))
			if r.Status != 403 || r.Code() != "INVALID_2FA_CODE" || r.Message() != tc.wrong {
				t.Fatalf("wrong code: %d %s", r.Status, r.Body)
			}
			r = verifyLogin(env, ch.ID, code(t, env, secret, 0), lang(tc.lang))
			if r.Status != 200 || r.Code() != "LOGIN_SUCCESS" || r.Message() != tc.ok {
				t.Fatalf("right code: %d %s", r.Status, r.Body)
			}
			d := testkit.DataOf[api.LoginTokenData](t, r)
			if d.TokenType != "Bearer" || d.AccountStatus != "active" || d.UserId != u.ID {
				t.Fatalf("data %+v", d)
			}
			// The token is bound to the device of the challenge and works.
			tok := d.AccessToken
			if n := env.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = $2 AND revoked_at IS NULL", u.ID, ch.DeviceID); n != 1 {
				t.Fatalf("%d live tokens for the device", n)
			}
			if s := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: tok}); s.Status != 200 || !testkit.Decode[api.TwofaStatusResponse](t, s).Enabled {
				t.Fatalf("new token: %d %s", s.Status, s.Body)
			}
			// Single use.
			r = verifyLogin(env, ch.ID, code(t, env, secret, 1), lang(tc.lang))
			if r.Status != 410 || r.Code() != "CHALLENGE_EXPIRED" {
				t.Fatalf("reuse: %d %s", r.Status, r.Body)
			}
			if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'auth.login.succeeded' AND details->>'method' = '2fa'", u.ID); n != 1 {
				t.Fatalf("%d login events", n)
			}
		})
	}
}

func TestChallengeIsBoundToIPAndUserAgent(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	gone := func(id string) bool {
		_, err := challenge.New(env.Cache()).Get(context.Background(), id, env.Clock.Now())
		return errors.Is(err, challenge.ErrNotFound)
	}
	cases := []struct {
		name    string
		ip, ua  string
		headers map[string]string
	}{
		{"other IP", "203.0.113.7", testUA, nil},
		{"other User-Agent", "127.0.0.1", testUA, map[string]string{"User-Agent": "Mozilla/5.0 (attacker)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := newChallenge(t, env, u, tc.ip, tc.ua)
			r := verifyLogin(env, ch.ID, code(t, env, secret, 0), tc.headers)
			if r.Status != 410 || r.Code() != "CHALLENGE_EXPIRED" {
				t.Fatalf("mismatch: %d %s", r.Status, r.Body)
			}
			if !gone(ch.ID) {
				t.Fatal("a mismatch did not delete the challenge")
			}
			// Even from the right client afterwards.
			if r := verifyLogin(env, ch.ID, code(t, env, secret, 0), nil); r.Status != 410 {
				t.Fatalf("after mismatch: %d", r.Status)
			}
		})
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.challenge.rejected'", u.ID); n != 2 {
		t.Fatalf("%d rejection events", n)
	}
}

func TestChallengeTTLIsNotExtendedAndFiveFailuresDeleteIt(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	ctx := context.Background()

	ch := newChallenge(t, env, u, "127.0.0.1", testUA)
	key := env.Cfg.RedisPrefix + "challenge:{" + ch.ID + "}"
	before := env.Redis().PTTL(ctx, key).Val()
	env.Clock.Advance(200 * time.Second)
	if r := verifyLogin(env, ch.ID, wrongCode(t, env, secret), nil); r.Status != 403 {
		t.Fatalf("wrong: %d", r.Status)
	}
	if after := env.Redis().PTTL(ctx, key).Val(); after <= 0 || after > before {
		t.Fatalf("TTL went from %v to %v", before, after)
	}
	env.Clock.Advance(101 * time.Second) // 301 s after the login
	if r := verifyLogin(env, ch.ID, code(t, env, secret, 0), nil); r.Status != 410 || r.Code() != "CHALLENGE_EXPIRED" {
		t.Fatalf("after 301 s: %d %s", r.Status, r.Body)
	}

	freshStep(env)
	ch = newChallenge(t, env, u, "127.0.0.1", testUA)
	for i := 1; i <= 5; i++ {
		if r := verifyLogin(env, ch.ID, wrongCode(t, env, secret), nil); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
			t.Fatalf("wrong code %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := verifyLogin(env, ch.ID, code(t, env, secret, 0), nil); r.Status != 410 {
		t.Fatalf("after 5 failures: %d %s", r.Status, r.Body)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed' AND details->>'purpose' = 'login'", u.ID); n != 6 {
		t.Fatalf("%d failure events, want 6", n)
	}
}

func TestRacingVerifyLoginIssuesExactlyOneToken(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	ch := newChallenge(t, env, u, "127.0.0.1", testUA)
	c := code(t, env, secret, 0)
	const n = 10
	statuses := verifyAtOnce(env, ch.ID, c, n)
	got := map[int]int{}
	for _, s := range statuses {
		got[s]++
	}
	if got[200] != 1 || got[410] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 410", got, n-1)
	}
	if k := env.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = $2", u.ID, ch.DeviceID); k != 1 {
		t.Fatalf("%d tokens issued", k)
	}
	if k := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed'", u.ID); k != 0 {
		t.Fatalf("losers of the race were counted as %d failures", k)
	}
}

// verifyAtOnce sends n verify-login requests with the same code, released together, and
// returns their statuses.
func verifyAtOnce(env *testkit.Env, challengeID, code string, n int) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			statuses[i] = verifyLogin(env, challengeID, code, nil).Status
		}(i)
	}
	close(start)
	wg.Wait()
	return statuses
}

// Wrong codes sent at once each count against the challenge: a burst of guesses cannot pass as
// one attempt. Eight concurrent wrong codes (under the account's window of ten) spend the
// challenge's five attempts; the right code afterwards finds it gone.
func TestConcurrentWrongCodesEachCount(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	secret, _ := enroll(t, env, u)
	freshStep(env)
	ch := newChallenge(t, env, u, "127.0.0.1", testUA)
	wrong := wrongCode(t, env, secret)
	const n = 8
	statuses := verifyAtOnce(env, ch.ID, wrong, n)
	for i, st := range statuses {
		// 403 for a counted wrong code; 410 for one that arrived after the fifth deleted it.
		if st != 403 && st != 410 {
			t.Fatalf("guess %d: %d", i, st)
		}
	}
	if r := verifyLogin(env, ch.ID, code(t, env, secret, 0), nil); r.Status != 410 || r.Code() != "CHALLENGE_EXPIRED" {
		t.Fatalf("the right code after %d concurrent wrong ones: %d %s", n, r.Status, r.Body)
	}
	if k := env.Count("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = $2", u.ID, ch.DeviceID); k != 0 {
		t.Fatalf("%d tokens issued", k)
	}
	ctx := context.Background()
	if k := env.Redis().Exists(ctx, env.Cfg.RedisPrefix+"challenge:{"+ch.ID+"}", env.Cfg.RedisPrefix+"challenge:{"+ch.ID+"}:failures").Val(); k != 0 {
		t.Fatalf("%d challenge keys left", k)
	}
}

func TestUnknownChallenge(t *testing.T) {
	env := testkit.New(t)
	for l, msg := range map[string]string{"fr": "La vérification a expiré. Veuillez vous reconnecter.", "en": "The verification has expired. Please log in again."} {
		r := verifyLogin(env, "3f1c2a8e-5b7d-4e62-9a51-0c8d2f7b6a41", "123456", lang(l))
		if r.Status != 410 || r.Code() != "CHALLENGE_EXPIRED" || r.Message() != msg {
			t.Fatalf("%s: %d %s", l, r.Status, r.Body)
		}
	}
	if r := verifyLogin(env, "not-a-uuid", "123456", nil); r.Status != 422 || r.Errors()["challenge_id"] == nil {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
}
