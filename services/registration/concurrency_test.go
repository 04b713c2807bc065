package registration_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/flowxi/backend/config"
)

// Twenty clients race to activate with the same valid code: one wins, the others see a spent code.
// The guessing budget (which counts checks in flight) is raised so every call reaches the lock.
func TestConcurrentSetPasswordActivatesOnce(t *testing.T) {
	h := start(t, func(c *config.Config) { c.AccountGuessLimit = 100 })
	email := newEmail()
	code := h.sendCode(email, "en")
	const n = 20
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// One IP each, so the per email+IP limit lets every call reach the row lock.
			r := h.post("/api/v1/register-email-code/set-password", setPasswordBody(email, code), "en", "10.3.0."+strconv.Itoa(i+1))
			statuses[i], codes[i] = r.Status, r.Code()
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case statuses[i] == 200 && codes[i] == "TOKEN_ISSUED":
			won++
		case statuses[i] == 410 && codes[i] == "OTP_EXPIRED":
		default:
			t.Errorf("call %d: %d %s", i, statuses[i], codes[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d activations", won)
	}
	if h.Count("SELECT count(*) FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1", email) != 1 ||
		h.Count("SELECT count(*) FROM audit_events a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND a.action = 'auth.registration.activated'", email) != 1 ||
		h.Count("SELECT count(*) FROM email_otps o JOIN users u ON u.id = o.user_id WHERE u.email = $1", email) != 0 {
		t.Fatal("more than one activation recorded")
	}
}
