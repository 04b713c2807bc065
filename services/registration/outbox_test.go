package registration_test

import (
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// SMTP down: the codes wait in the outbox; the worker stops ("process restart"); SMTP comes back and a
// new instance delivers each message exactly once, and the delivered code is the committed one.
func TestOutboxSurvivesSMTPOutageAndRestart(t *testing.T) {
	mb := testkit.NewMailbox(t)
	mb.Stop()
	first := testkit.New(t, mb.Use)
	h1 := harness{Env: first, mb: mb}
	emails := []string{newEmail(), newEmail(), newEmail()}
	for _, e := range emails {
		expect(t, h1.post("/api/v1/register-email-code/send", map[string]any{"email": e}, "en"), 200, "OTP_SENT")
	}
	// Every row is tried, fails, and stays pending with its body.
	waitFor(t, func() bool {
		return h1.Count("SELECT count(*) FROM mail_outbox WHERE to_address = ANY($1) AND status = 'pending' AND attempts >= 1 AND last_error IS NOT NULL AND body_enc IS NOT NULL AND next_attempt_at > $2", emails, first.Clock.Now()) == 3
	})
	first.StopWorkers()
	if len(mb.All()) != 0 {
		t.Fatal("delivered while down")
	}

	mb.Start()
	second := testkit.New(t, mb.Use)
	second.Clock.Advance(2 * time.Minute) // past the backoff, well within the code's 10 minutes
	h2 := harness{Env: second, mb: mb}
	var code string
	for _, e := range emails {
		m := mb.Next(e)
		if e == emails[0] {
			code = m.OTP()
		}
	}
	for _, e := range emails {
		waitSent(t, h2, e)
	}
	time.Sleep(300 * time.Millisecond) // several more polls: nothing is sent twice
	for _, e := range emails {
		if n := len(mb.To(e)); n != 1 {
			t.Fatalf("%s received %d messages", e, n)
		}
	}
	expect(t, h2.post("/api/v1/register-email-code/verify", map[string]any{"email": emails[0], "code": code}, "en"), 200, "OTP_VALID")
}

// A message that never gets through is retried with growing delays, then marked failed and
// wiped. The test drives the real mail.send job (real SMTP transport, stopped server) one
// attempt at a time: it waits for each attempt to be recorded and its retry scheduled, moves
// the fake clock past it and has River work the jobs now due.
func TestOutboxGivesUpAfterMaxAttempts(t *testing.T) {
	mb := testkit.NewMailbox(t)
	mb.Stop()
	h := harness{Env: testkit.New(t, mb.Use), mb: mb}
	email := newEmail()
	expect(t, h.post("/api/v1/register-email-code/send", map[string]any{"email": email}, "en"), 200, "OTP_SENT")
	var delays []time.Duration
	for range 20 {
		var next time.Time
		var status string
		waitFor(t, func() bool {
			var attempts int
			if err := h.QueryRow("SELECT next_attempt_at, status, attempts FROM mail_outbox WHERE to_address = $1", email).Scan(&next, &status, &attempts); err != nil {
				t.Fatal(err)
			}
			// Settled: River has scheduled the retry (with the clock not yet moved).
			return (status == "failed" || attempts == len(delays)+1) && h.JobsSettled()
		})
		if status == "failed" {
			break
		}
		delays = append(delays, next.Sub(h.Clock.Now()))
		h.Clock.Advance(next.Sub(h.Clock.Now()) + time.Second)
		h.RunDueJobs()
	}
	if h.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND status = 'failed' AND attempts = 8 AND body_enc IS NULL AND last_error IS NOT NULL", email) != 1 {
		t.Fatal("final state")
	}
	if len(delays) != 7 || delays[0] < 9*time.Second || delays[0] > 10*time.Second || delays[6] < 639*time.Second {
		t.Fatalf("backoff delays %v", delays)
	}
	if len(mb.All()) != 0 {
		t.Fatal("delivered while down")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(25 * time.Millisecond)
	}
}
