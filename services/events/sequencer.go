package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/retry"
)

// DefaultSequenceEvery is how often the sequencer looks for newly committed events.
const DefaultSequenceEvery = 100 * time.Millisecond

// Sequencer gives committed events their feed positions (migration 00047): each sweep takes the
// events that became visible since the previous one, in id order. One sweep at a time across
// instances (an advisory lock; the others skip their turn). A sweep that finds nothing writes
// nothing, so polling often costs an index probe, not a write.
type Sequencer struct {
	st    *pg.Store
	log   *slog.Logger
	every time.Duration
	// OnSequenced, when set, is called after a sweep that positioned events (a dispatcher can
	// wake up instead of polling), with the number positioned.
	OnSequenced func(n int64)
}

// NewSequencer builds the sequencer sweeping every interval (0: DefaultSequenceEvery).
func NewSequencer(st *pg.Store, log *slog.Logger, every time.Duration) *Sequencer {
	if every <= 0 {
		every = DefaultSequenceEvery
	}
	return &Sequencer{st: st, log: log, every: every}
}

// Run sweeps until ctx ends.
func (s *Sequencer) Run(ctx context.Context) {
	retry.Every(ctx, s.every, func(ctx context.Context) {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("event sequencer", "error", err.Error())
		}
		if n > 0 && s.OnSequenced != nil {
			s.OnSequenced(n)
		}
	})
}

// Sweep positions the events committed since the last sweep and returns how many. It returns 0
// without waiting when another sweep holds the lock.
func (s *Sequencer) Sweep(ctx context.Context) (int64, error) {
	var n int64
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		n = 0
		ok, err := q.TryLockEventSequencer(ctx)
		if err != nil || !ok {
			return err
		}
		h, err := q.GetEventSequencerHead(ctx)
		if err != nil {
			return err
		}
		// A statement of its own: its snapshot is taken now, after the lock, so it sees the
		// previous sweep's head and every event that sweep saw.
		n, err = q.SequenceEvents(ctx, db.SequenceEventsParams{Xmax: h.Xmax, Xip: h.Xip, Seq: h.Seq})
		return err
	})
	return n, err
}

// Lag is how long the oldest committed event still without a feed position has waited at now
// (its occurred_at, the time of its change): 0 when every committed event has its position. It
// grows while sweeps fail or stop (the gauge flowxi_events_unsequenced_age_seconds).
func (s *Sequencer) Lag(ctx context.Context, now time.Time) (time.Duration, error) {
	oldest, err := s.st.Q.GetOldestUnsequencedEvent(ctx, now)
	if err != nil {
		return 0, err
	}
	return max(now.Sub(oldest), 0), nil
}
