package registration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/testkit"
)

var requestID = regexp.MustCompile(`"request_id":"[^"]*"`)

// answer is everything a client can compare between two responses: status, body without the
// request id, and every header but the date and the request id.
func answer(r *testkit.Resp) string {
	var hs []string
	for k, v := range r.Header {
		if k != "Date" && k != "X-Request-Id" {
			hs = append(hs, k+": "+strings.Join(v, ","))
		}
	}
	sort.Strings(hs)
	return strconv.Itoa(r.Status) + " " + requestID.ReplaceAllString(string(r.Body), `"request_id":"*"`) + "\n" + strings.Join(hs, "\n")
}

// resetKinds prepares one e-mail of each kind a reset can meet and returns them by name:
// unknown, pending (registration started), blocked (with the code it had asked for), active
// with a live code, active without one.
func resetKinds(t *testing.T, h harness) (map[string]string, testkit.User) {
	t.Helper()
	pending := newEmail()
	h.sendCode(pending, "en")
	blocked := h.CreateUser(testkit.WithoutToken())
	expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": blocked.Email}, "en"), 200, "PASSWORD_RESET_SENT")
	h.mb.Next(blocked.Email)
	h.SetUserStatus(blocked.ID, "blocked")
	withCode := h.CreateUser(testkit.WithoutToken())
	expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": withCode.Email}, "en"), 200, "PASSWORD_RESET_SENT")
	h.mb.Next(withCode.Email)
	noCode := h.CreateUser(testkit.WithoutToken())
	return map[string]string{
		"unknown": newEmail(), "pending": pending, "blocked": blocked.Email,
		"active with a live code": withCode.Email, "active without a code": noCode.Email,
	}, withCode
}

// wrongFor returns a 6-digit code that is not email's live reset code (whatever it is).
func wrongFor(h harness, email string) string {
	live := ""
	for _, m := range h.mb.To(email) {
		if c := m.OTP(); c != "" {
			live = c
		}
	}
	if live == "000000" {
		return "111111"
	}
	return "000000"
}

// TestPasswordResetIsNeutral: a wrong code answers byte-identically (status, body apart from
// request_id, headers) for an unknown, a pending, a blocked and an active e-mail, with or
// without a live code, in both languages.
func TestPasswordResetIsNeutral(t *testing.T) {
	h := start(t)
	kinds, _ := resetKinds(t, h)
	pw := "Quartz-Meadow-Lantern-7"
	addr := 0
	for _, lang := range []string{"fr", "en"} {
		var ref, refName string
		for name, email := range kinds {
			addr++
			r := h.post("/api/v1/auth/password/reset", resetBody(email, wrongFor(h, email), pw), lang, "10.16.0."+strconv.Itoa(addr))
			if r.Status == 200 || r.Status >= 500 || r.Status == 429 {
				t.Fatalf("%s/%s: %d %s", name, lang, r.Status, r.Body)
			}
			a := answer(r)
			if ref == "" {
				ref, refName = a, name
				continue
			}
			if a != ref {
				t.Fatalf("%s differs from %s (%s):\n%s\n---\n%s", name, refName, lang, a, ref)
			}
		}
	}
}

// TestPasswordResetBudgetPerEmail: ten failed resets for one e-mail, from ten addresses, and
// the next attempt is 429 — the right code included — identically for an account and for an
// unknown e-mail.
func TestPasswordResetBudgetPerEmail(t *testing.T) {
	h := start(t)
	u := h.CreateUser(testkit.WithoutToken())
	expect(t, h.post("/api/v1/auth/password/forgot", map[string]any{"email": u.Email}, "en"), 200, "PASSWORD_RESET_SENT")
	live := h.mb.Next(u.Email).OTP()
	pw := "Quartz-Meadow-Lantern-7"
	run := func(email, wrong string) []string {
		var out []string
		for i := 0; i < 12; i++ {
			r := h.post("/api/v1/auth/password/reset", resetBody(email, wrong, pw), "en", fmt.Sprintf("10.17.%d.%d", len(email)%200, i+1))
			if want := map[bool]int{true: 403, false: 429}[i < 10]; r.Status != want {
				t.Fatalf("%s attempt %d: %d %s", email, i+1, r.Status, r.Body)
			}
			out = append(out, answer(r))
		}
		return out
	}
	wrong := testkit.WrongCode(live)
	known, unknown := run(u.Email, wrong), run(newEmail(), wrong)
	for i := range known {
		if ra := regexp.MustCompile(`Retry-After: \d+`); ra.ReplaceAllString(known[i], "Retry-After: n") != ra.ReplaceAllString(unknown[i], "Retry-After: n") {
			t.Fatalf("attempt %d differs:\n%s\n---\n%s", i+1, known[i], unknown[i])
		}
	}
	r := h.post("/api/v1/auth/password/reset", resetBody(u.Email, live, pw), "en", "10.17.250.1")
	expectRateLimited(t, r)
}

// TestRegistrationCodeBudgetPerEmail: wrong registration codes, through verify and set-password
// and from ten addresses, exhaust the e-mail's budget; a fresh right code is then refused too.
func TestRegistrationCodeBudgetPerEmail(t *testing.T) {
	h := start(t)
	email := newEmail()
	code := h.sendCode(email, "en")
	wrong := testkit.WrongCode(code)
	for i := 0; i < 10; i++ {
		ip := "10.18.0." + strconv.Itoa(i+1)
		var r *testkit.Resp
		if i%2 == 0 {
			r = h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": wrong}, "en", ip)
		} else {
			r = h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, wrong), "en", ip)
		}
		if r.Status != 403 && r.Status != 410 {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	h.Clock.Advance(61 * time.Second) // past the resend cooldown
	fresh := h.sendCode(email, "en")
	expectRateLimited(t, h.post("/api/v1/register-email-code/verify", map[string]any{"email": email, "code": fresh}, "en", "10.18.1.1"))
	expectRateLimited(t, h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, fresh), "en", "10.18.1.2"))
}

// TestPasswordResetTimingIsNeutral compares the median latency of a wrong reset for each kind
// of e-mail with the production argon2id parameters, as the login timing test does
// (services/identity/timing_test.go): kinds take turns, up to 3 rounds are measured, and the
// test fails only if every round has medians more than 20 % apart.
func TestPasswordResetTimingIsNeutral(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test skipped in -short mode")
	}
	h := start(t, func(c *config.Config) {
		c.Argon2MemoryKiB, c.Argon2Time = password.Default.MemoryKiB, password.Default.Time
		c.AccountGuessLimit = 100000 // measure, do not lock
	})
	kinds, withCode := resetKinds(t, h)
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	addr := 0
	post := func(email string) time.Duration {
		addr++ // a new client address each time: the per email+address limit stays out of the way
		b, _ := json.Marshal(resetBody(email, wrongFor(h, email), "Quartz-Meadow-Lantern-7"))
		req, _ := http.NewRequest("POST", h.URL+"/api/v1/auth/password/reset", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", 20+addr>>16, addr>>8&255, addr&255))
		return testkit.Timed(t, client, req, 403)
	}
	for _, n := range names {
		post(kinds[n]) // warm-up
	}
	const tries, rounds = 30, 3
	for round := 1; round <= rounds; round++ {
		times := map[string][]time.Duration{}
		for i := 0; i < tries; i++ {
			// Keep the live code live (5 wrong tries would delete it), outside the measured request.
			if err := h.TryExecSQL("UPDATE email_otps SET attempts = 0 WHERE user_id = $1", withCode.ID); err != nil {
				t.Fatal(err)
			}
			for j := range names { // rotate the order, so no kind always follows another
				n := names[(i+j)%len(names)]
				email := kinds[n]
				if n == "unknown" {
					email = fmt.Sprintf("ghost-%d-%d@example.com", round, i)
				}
				times[n] = append(times[n], post(email))
			}
		}
		lo, hi := time.Duration(1<<62), time.Duration(0)
		var line []string
		for _, n := range names {
			m := testkit.Median(times[n])
			lo, hi = min(lo, m), max(hi, m)
			line = append(line, fmt.Sprintf("%s %v", n, m))
		}
		diff := float64(hi-lo) / float64(lo)
		t.Logf("round %d: medians %s; spread %.1f%% (%d tries each)", round, strings.Join(line, ", "), 100*diff, tries)
		if diff <= 0.20 {
			return
		}
	}
	t.Fatalf("reset latency reveals accounts: medians more than 20%% apart in all %d rounds", rounds)
}
