package app_test

import (
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

const feedLag = "flowxi_events_unsequenced_age_seconds"

// The feed-lag gauge is the age of the oldest committed event the sequencer has not given a
// feed position yet: 0 once every event has one, the time since the event's change while it
// waits (the sequencer stopped here: EVENTS_SEQUENCE_EVERY of an hour, with the fake clock), and
// 0 again after the next sweep.
func TestEventsFeedLagGauge(t *testing.T) {
	env := testkit.New(t, func(c *config.Config) { c.EventsSequenceEvery = time.Hour })
	u := env.CreateUser()
	env.SettleEvents()
	if m := env.Metrics(t); !has(m, feedLag) || m[feedLag] != 0 {
		t.Fatalf("%s = %v with every event positioned (on /metrics: %v)", feedLag, m[feedLag], has(m, feedLag))
	}
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/wallets", JSON: map[string]any{"currency": "EUR"}, Token: u.Token}); r.Status != 201 {
		t.Fatalf("open a wallet (wallet.opened): %d %s", r.Status, r.Body)
	}
	env.Clock.Advance(90 * time.Second)
	if got := env.Metrics(t)[feedLag]; got < 90 || got >= 91 {
		t.Fatalf("%s = %v, want 90 s for the event waiting since the wallet opened", feedLag, got)
	}
	env.SettleEvents()
	if got := env.Metrics(t)[feedLag]; got != 0 {
		t.Fatalf("%s = %v after the sweep, want 0", feedLag, got)
	}
}

func has(m map[string]float64, series string) bool { _, ok := m[series]; return ok }
