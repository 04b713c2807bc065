package identity_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/testkit"
)

// TestLoginTimingDoesNotRevealAccounts compares the median latency of unknown-email and
// wrong-password logins with the production argon2id parameters. The two kinds alternate so
// machine noise hits both alike. This is the one test that asserts timing: the issue demands it.
func TestLoginTimingDoesNotRevealAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test skipped in -short mode")
	}
	env := testkit.New(t, func(c *config.Config) {
		c.Argon2MemoryKiB, c.Argon2Time = password.Default.MemoryKiB, password.Default.Time
		c.LoginRatePerEmailIP, c.LoginRatePerIP = 10000, 10000
		c.AccountGuessLimit = 10000 // 120 wrong passwords for one account: measure, do not lock
	})
	u := env.CreateUser(testkit.WithoutToken())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	post := func(email, pw string) time.Duration {
		b, _ := json.Marshal(loginBody(email, pw, "timing-device"))
		req, _ := http.NewRequest("POST", env.URL+"/api/v1/auth/login", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return testkit.Timed(t, client, req, 401)
	}
	post(u.Email, "warm-up-wrong")
	post("warm-up@example.com", "warm-up-wrong")
	// This machine is shared (other suites run alongside), so a burst of load can skew one
	// round: up to 3 rounds are measured and the test fails only if every round differs by more
	// than 20 %. A real leak (skipping the hash costs ~99 %) fails all of them.
	const tries, rounds = 40, 3
	for round := 1; round <= rounds; round++ {
		var unknown, wrong []time.Duration
		for i := 0; i < tries; i++ {
			// Alternate which kind goes first, so neither always follows the other.
			a := func() {
				unknown = append(unknown, post("ghost-"+strconv.Itoa(round)+"-"+strconv.Itoa(i)+"@example.com", "Wr0ng-Password!"))
			}
			b := func() { wrong = append(wrong, post(u.Email, "Wr0ng-Password!")) }
			if i%2 == 0 {
				a()
				b()
			} else {
				b()
				a()
			}
		}
		mu, mw := testkit.Median(unknown), testkit.Median(wrong)
		diff := float64(mu-mw) / float64(min(mu, mw))
		t.Logf("round %d: median unknown-email %v, wrong-password %v, difference %+.1f%% (%d tries each)", round, mu, mw, 100*diff, tries)
		if diff <= 0.20 && diff >= -0.20 {
			return
		}
	}
	t.Fatalf("login latency reveals accounts: unknown-email and wrong-password medians differ by more than 20%% in all %d rounds", rounds)
}
