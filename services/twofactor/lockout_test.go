package twofactor_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// At most 10 wrong second factors per account per 15 minutes, whatever the challenge or flow:
// logging in again does not reset the count; the owner gets one e-mail.
func TestAccountFailureWindowSpansChallengesAndFlows(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithLocale("en"))
	secret, _ := enroll(t, env, u)
	for round := 0; round < 2; round++ {
		ch := newChallenge(t, env, u, "127.0.0.1", testUA) // a new login each time
		for i := 0; i < 5; i++ {
			if r := verifyLogin(env, ch.ID, wrongCode(t, env, secret), nil); r.Status != 403 {
				t.Fatalf("round %d attempt %d: %d %s", round, i, r.Status, r.Body)
			}
		}
	}
	if n := env.Count("SELECT count(*) FROM mail_outbox WHERE template = 'twofa_locked' AND to_address = $1 AND locale = 'en'", u.Email); n != 1 {
		t.Fatalf("%d lock e-mails after 10 failures", n)
	}
	// Now even the right code is refused, at login and at step-up.
	ch := newChallenge(t, env, u, "127.0.0.1", testUA)
	r := verifyLogin(env, ch.ID, code(t, env, secret, 0), lang("fr"))
	if r.Status != 429 || r.Code() != "RATE_LIMITED" || r.Message() != "Trop de tentatives. Veuillez réessayer plus tard." {
		t.Fatalf("locked login: %d %s", r.Status, r.Body)
	}
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 1 || ra > 900 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r := stepUp(env, u.Token, code(t, env, secret, 0)); r.Status != 429 {
		t.Fatalf("locked step-up: %d %s", r.Status, r.Body)
	}
	if r := verifyLogin(env, ch.ID, wrongCode(t, env, secret), nil); r.Status != 429 {
		t.Fatalf("locked wrong code: %d", r.Status)
	}
	if n := env.Count("SELECT count(*) FROM mail_outbox WHERE template = 'twofa_locked' AND to_address = $1", u.Email); n != 1 {
		t.Fatalf("%d lock e-mails: want one per window", n)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.locked'", u.ID); n != 1 {
		t.Fatalf("%d lock events", n)
	}
	if n := env.Count("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'twofa.failed'", u.ID); n != 10 {
		t.Fatalf("%d failure events: refused attempts must not be checked", n)
	}
	// The window slides on the server clock.
	env.Clock.Advance(15*time.Minute + time.Second)
	freshStep(env)
	ch = newChallenge(t, env, u, "127.0.0.1", testUA)
	if r := verifyLogin(env, ch.ID, code(t, env, secret, 0), nil); r.Status != 200 {
		t.Fatalf("after the window: %d %s", r.Status, r.Body)
	}
}
