package identity_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

var requestID = regexp.MustCompile(`"request_id":"[^"]*"`)

// TestLoginFailuresAreIndistinguishable: unknown e-mail, wrong password and pending, blocked or
// closed accounts (even with the right password) give byte-identical bodies and headers.
func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	env := testkit.New(t)
	wrong := env.CreateUser(testkit.WithoutToken())
	pending := env.CreateUser(testkit.WithoutToken())
	blocked := env.CreateUser(testkit.WithoutToken())
	closed := env.CreateUser(testkit.WithoutToken())
	noPassword := env.CreateUser(testkit.WithoutToken())
	env.SetUserStatus(pending.ID, "pending")
	env.SetUserStatus(blocked.ID, "blocked")
	env.SetUserStatus(closed.ID, "closed")
	env.ExecSQL(`UPDATE users SET status = 'pending', password_hash = NULL WHERE id = $1`, noPassword.ID)
	cases := []struct{ name, email, password string }{
		{"unknown email", "nobody-here@example.com", wrong.Password},
		{"wrong password", wrong.Email, "Wr0ng-Password!"},
		{"pending with right password", pending.Email, pending.Password},
		{"pending without password", noPassword.Email, noPassword.Password},
		{"blocked with right password", blocked.Email, blocked.Password},
		{"closed with right password", closed.Email, closed.Password},
	}
	for _, lang := range []struct{ header, msg string }{{"fr", "Identifiants invalides."}, {"en", "Invalid credentials."}} {
		var refBody, refName string
		var refHeaders map[string]string
		for _, tc := range cases {
			r := login(env, tc.email, tc.password, "dev-"+lang.header, map[string]string{"X-App-Locale": lang.header})
			if r.Status != 401 || r.Code() != "INVALID_CREDENTIALS" || r.Message() != lang.msg {
				t.Fatalf("%s/%s: %d %s", tc.name, lang.header, r.Status, r.Body)
			}
			if testkit.Decode[api.Error](t, r).RequestId == nil {
				t.Fatalf("%s: no request_id", tc.name)
			}
			body := requestID.ReplaceAllString(string(r.Body), `"request_id":"*"`)
			headers := map[string]string{}
			for _, h := range []string{"Content-Type", "Content-Language", "Retry-After", "Cache-Control", "WWW-Authenticate"} {
				headers[h] = r.Header.Get(h)
			}
			if refBody == "" {
				refBody, refName, refHeaders = body, tc.name, headers
				continue
			}
			if body != refBody {
				t.Fatalf("%s body differs from %s:\n%s\n%s", tc.name, refName, body, refBody)
			}
			for h, v := range refHeaders {
				if headers[h] != v {
					t.Fatalf("%s header %s %q differs from %s %q", tc.name, h, headers[h], refName, v)
				}
			}
		}
	}
	// No token for anybody; one failure audit per attempt, none carrying the password, and the
	// unknown e-mail's without a user id.
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = ANY($1)`, []int64{wrong.ID, pending.ID, blocked.ID, closed.ID, noPassword.ID}); n != 0 {
		t.Fatalf("%d tokens issued", n)
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE action = 'auth.login.failed' AND user_id IS NULL AND details->>'email' = 'nobody-here@example.com'`); n != 2 {
		t.Fatalf("unknown-email audit events %d", n)
	}
	for _, u := range []testkit.User{wrong, pending, blocked, closed, noPassword} {
		if n := env.Count(`SELECT count(*) FROM audit_events WHERE action = 'auth.login.failed' AND user_id = $1`, u.ID); n != 2 {
			t.Fatalf("user %d audit events %d", u.ID, n)
		}
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE position($1 in details::text) > 0 OR position('Wr0ng-Password!' in details::text) > 0`, wrong.Password); n != 0 {
		t.Fatalf("%d audit events contain a password", n)
	}
}

// TestLoginRateLimits: 5/min per email+IP and 30/min per IP, counted before the password check
// and for unknown e-mails too.
func TestLoginRateLimits(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithoutToken())
	start := time.Now()
	for i := 1; i <= 5; i++ {
		if r := login(env, u.Email, "wrong-password", "d1"); r.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, lang := range []struct{ header, msg string }{{"fr", "Trop de tentatives. Veuillez réessayer plus tard."}, {"en", "Too many attempts. Please try again later."}} {
		// The right password no longer helps: the limit applies before it is checked.
		r := login(env, u.Email, u.Password, "d1", map[string]string{"X-App-Locale": lang.header})
		if r.Status != 429 || r.Code() != "RATE_LIMITED" || r.Message() != lang.msg {
			t.Fatalf("6th attempt: %d %s", r.Status, r.Body)
		}
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE action LIKE 'auth.login.%' AND user_id = $1`, u.ID); n != 5 {
		t.Fatalf("%d password checks, want 5 (refused attempts must not reach the check)", n)
	}
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1`, u.ID); n != 0 {
		t.Fatalf("token issued while rate limited")
	}
	// Unknown e-mails are counted the same way.
	for i := 1; i <= 6; i++ {
		r := login(env, "ghost@example.com", "whatever-pass", "d1")
		if want := map[bool]int{true: 401, false: 429}[i <= 5]; r.Status != want {
			t.Fatalf("unknown email attempt %d: %d", i, r.Status)
		}
	}
	// Per IP: 13 attempts so far from 127.0.0.1 (each one counted, refused or not). Distinct
	// e-mails reach 30; GCRA refills one every 2 s, so allow what the elapsed time gave back.
	accepted := 0
	for {
		r := login(env, "spray"+strconv.Itoa(accepted)+"@example.com", "whatever-pass", "d1")
		if r.Status == 429 {
			break
		}
		if r.Status != 401 {
			t.Fatalf("spray %d: %d %s", accepted, r.Status, r.Body)
		}
		accepted++
		if refill := int(time.Since(start)/(2*time.Second)) + 1; accepted > 17+refill {
			t.Fatalf("per-IP limit not enforced after %d attempts", 13+accepted)
		}
	}
	if accepted < 17 {
		t.Fatalf("per-IP limit tripped after %d attempts, want 30", 13+accepted)
	}
}
