package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
)

// BenchmarkLedgerEvents measures what the domain events cost a transfer: the spread scenario on
// two servers sharing one database, one writing a transfer.completed event for every transfer in
// its posting statement (as in production; the sequencer positions them in the feed in the
// background, at its production interval) and one with them off (config.BenchmarkLedgerEventsOff,
// refused in production); audit on for both. Phases alternate as in BenchmarkLedgerAudit; the
// time the sequencer still needs after an "on" phase counts into that phase. Target: on ≥ 0.9 ×
// off. Afterwards the "on" server wrote exactly one event per transfer, the "off" one none, and
// every event has its place in the feed.
// Tunables: see newOnOff (prefix EVENTS).
func BenchmarkLedgerEvents(b *testing.B) {
	for i := 0; i < b.N; i++ {
		o := newOnOff(b, feature{name: "events", prefix: "EVENTS", turnOff: func(c *config.Config) { c.BenchmarkLedgerEventsOff = true },
			backlog: func(lb *lbBench) time.Duration { return sequenceBacklog(b, lb) },
			rows:    "SELECT count(*) FROM events WHERE type = 'transfer.completed'"})
		on := o.on
		m := o.run(b)

		sequenceBacklog(b, on)
		var events, positions, head int64
		if err := on.env.QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM event_feed),
			(SELECT seq FROM event_feed_head)`).Scan(&events, &positions, &head); err != nil {
			b.Fatal(err)
		}
		if positions != events || head != positions {
			b.Fatalf("feed: %d positions (head %d) for %d events", positions, head, events)
		}
		o.report(b, m, fmt.Sprintf("one event per transfer; all %d events of the database placed in the feed", events))
	}
}

// sequenceBacklog places every event written so far in the feed, at once, and returns how long
// it took (at most two minutes).
func sequenceBacklog(b *testing.B, lb *lbBench) time.Duration {
	start := time.Now()
	for {
		if _, err := lb.env.SequenceEvents(context.Background()); err != nil {
			b.Fatal(err)
		}
		var n int64
		if err := lb.env.QueryRow(`SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_feed f WHERE f.event_id = e.id)`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return time.Since(start)
		}
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("%d events still without a feed position two minutes after the load", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
