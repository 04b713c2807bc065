package identity_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

// trustLoopback makes loopback a trusted proxy, so a test poses as many client addresses with
// X-Forwarded-For.
func trustLoopback(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
}

// from is the header set of a request from client address ip, in language lang.
func from(ip, lang string) map[string]string {
	return map[string]string{"X-Forwarded-For": ip, "X-App-Locale": lang}
}

// in64 is the i-th address of one IPv6 /64.
func in64(i int) string { return fmt.Sprintf("2001:db8:16:1:%x::%x", i+1, i+7) }

// answer is what a client can compare between two responses: status, body without the
// request id, and the headers that could differ.
func answer(r *testkit.Resp) string {
	out := strconv.Itoa(r.Status) + " " + requestID.ReplaceAllString(string(r.Body), `"request_id":"*"`)
	for _, h := range []string{"Content-Type", "Content-Language", "Cache-Control", "WWW-Authenticate"} {
		out += "\n" + h + ": " + r.Header.Get(h)
	}
	if r.Header.Get("Retry-After") != "" {
		out += "\nRetry-After: set"
	}
	return out
}

// TestLoginBudgetPerAccountWhateverTheAddress: 40 wrong passwords against one account from 40
// addresses of one IPv6 /64 get 429 once the account's budget (10) is spent — with the
// per-address limits out of the way, so the budget is what refuses — and then the right
// password is refused too, before it is checked. An unknown e-mail gets the same answers at
// the same attempt. The owner gets one security e-mail for the window.
func TestLoginBudgetPerAccountWhateverTheAddress(t *testing.T) {
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, mb.Use, trustLoopback, func(c *config.Config) { c.LoginRatePerEmailIP, c.LoginRatePerIP = 1000, 1000 })
	u := env.CreateUser(testkit.WithoutToken(), testkit.WithLocale("en"))
	run := func(email string) []string {
		var answers []string
		for i := 0; i < 40; i++ {
			r := login(env, email, "Wr0ng-Password!", "d", from(in64(i), "fr"))
			want := 401
			if i >= 10 {
				want = 429
			}
			if r.Status != want {
				t.Fatalf("%s attempt %d: %d %s", email, i+1, r.Status, r.Body)
			}
			if want == 429 {
				if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 900 || r.Code() != "RATE_LIMITED" {
					t.Fatalf("%s attempt %d: Retry-After %q %s", email, i+1, r.Header.Get("Retry-After"), r.Body)
				}
			}
			answers = append(answers, answer(r))
		}
		return answers
	}
	known, unknown := run(u.Email), run("nobody-budget@example.com")
	for i := range known {
		if known[i] != unknown[i] {
			t.Fatalf("attempt %d differs between an account and an unknown e-mail:\n%s\n%s", i+1, known[i], unknown[i])
		}
	}
	// The right password, from yet another address, is refused while the budget lasts.
	if r := login(env, u.Email, u.Password, "d", from("2001:db8:99::1", "en")); r.Status != 429 || r.Code() != "RATE_LIMITED" {
		t.Fatalf("right password during the lock: %d %s", r.Status, r.Body)
	}
	// Refused attempts never reached the password check: ten failures audited per e-mail.
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE action = 'auth.login.failed' AND (user_id = $1 OR details->>'email' = $2)`,
		u.ID, "nobody-budget@example.com"); n != 20 {
		t.Fatalf("%d password checks, want 10 per e-mail", n)
	}
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1`, u.ID); n != 0 {
		t.Fatal("token issued during the lock")
	}
	// One security e-mail, in the owner's language, for the window.
	if m := mb.Next(u.Email); m.Subject != "Too many wrong passwords on your Flowxi account" {
		t.Fatalf("security e-mail %q", m.Subject)
	}
	if n := env.Count(`SELECT count(*) FROM mail_outbox WHERE template = 'login_locked' AND to_address = $1`, u.Email); n != 1 {
		t.Fatalf("%d security e-mails, want one per window", n)
	}
	if n := env.Count(`SELECT count(*) FROM mail_outbox WHERE template = 'login_locked'`); n != 1 {
		t.Fatalf("%d security e-mails in all (an unknown e-mail has nobody to tell)", n)
	}
	// The window slides on the server clock.
	env.Clock.Advance(15*time.Minute + time.Second)
	mustLogin(env, u.Email, u.Password, "after-the-window")
}

// TestLoginSuccessDoesNotResetOtherAddressesFailures: the owner logging in from one address
// frees only that attempt; the failures made from elsewhere still count.
func TestLoginSuccessDoesNotResetOtherAddressesFailures(t *testing.T) {
	env := testkit.New(t, trustLoopback)
	u := env.CreateUser(testkit.WithoutToken())
	for i := 0; i < 9; i++ {
		if r := login(env, u.Email, "Wr0ng-Password!", "d", from("192.0.2."+strconv.Itoa(10+i), "en")); r.Status != 401 {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if r := login(env, u.Email, u.Password, "owner", from("198.51.100.7", "en")); r.Status != 200 {
		t.Fatalf("owner: %d %s", r.Status, r.Body)
	}
	if r := login(env, u.Email, "Wr0ng-Password!", "d", from("192.0.2.99", "en")); r.Status != 401 {
		t.Fatalf("10th failure: %d %s", r.Status, r.Body)
	}
	if r := login(env, u.Email, u.Password, "owner", from("198.51.100.7", "en")); r.Status != 429 {
		t.Fatalf("after 10 failures elsewhere: %d %s", r.Status, r.Body)
	}
}

// TestLoginPerAddressLimitsKeyIPv6By64: the per-email+address limit (5/min) counts one IPv6
// /64 as one address, and each IPv4 address (/32) as its own.
func TestLoginPerAddressLimitsKeyIPv6By64(t *testing.T) {
	env := testkit.New(t, trustLoopback)
	u := env.CreateUser(testkit.WithoutToken())
	for i := 0; i < 5; i++ {
		if r := login(env, u.Email, "Wr0ng-Password!", "d", from(in64(i), "en")); r.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if r := login(env, u.Email, "Wr0ng-Password!", "d", from(in64(5), "en")); r.Status != 429 || r.Code() != "RATE_LIMITED" {
		t.Fatalf("6th attempt from the same /64: %d %s", r.Status, r.Body)
	}
	if r := login(env, u.Email, "Wr0ng-Password!", "d", from("2001:db8:16:2::1", "en")); r.Status != 401 {
		t.Fatalf("another /64: %d %s", r.Status, r.Body)
	}
	other := env.CreateUser(testkit.WithoutToken())
	for i := 0; i < 8; i++ {
		if r := login(env, other.Email, "Wr0ng-Password!", "d", from("203.0.113."+strconv.Itoa(1+i), "en")); r.Status != 401 {
			t.Fatalf("IPv4 address %d: %d %s (distinct /32s must not share a limit)", i+1, r.Status, r.Body)
		}
	}
}
