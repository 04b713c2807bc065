package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

// DefaultRetention is how long events stay in the feed (EVENTS_RETENTION).
const DefaultRetention = 30 * 24 * time.Hour

// pruneChunk bounds one delete statement.
const pruneChunk = 5000

// Pruner deletes the events older than the retention, oldest feed position first; an event
// without a position yet is never deleted. Positions up to the last deleted are recorded, so a
// cursor older than them is refused (410) instead of silently skipping what was deleted.
type Pruner struct {
	st        *pg.Store
	clock     clock.Clock
	log       *slog.Logger
	retention time.Duration
	every     time.Duration
}

// NewPruner builds the retention worker (retention 0: DefaultRetention), running every interval.
func NewPruner(st *pg.Store, c clock.Clock, log *slog.Logger, retention, every time.Duration) *Pruner {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if every <= 0 {
		every = time.Minute
	}
	return &Pruner{st: st, clock: c, log: log, retention: retention, every: every}
}

// Run prunes until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	retry.Every(ctx, p.every, func(ctx context.Context) {
		if _, err := p.Prune(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("event retention", "error", err.Error())
		}
	})
}

// Prune deletes every event past the retention and returns how many it deleted.
func (p *Pruner) Prune(ctx context.Context) (int64, error) {
	cutoff := p.clock.Now().Add(-p.retention)
	var total int64
	for {
		r, err := p.st.Q.PruneEvents(ctx, db.PruneEventsParams{Cutoff: cutoff, MaxRows: pruneChunk})
		total += r.Events
		if err != nil || r.Events < pruneChunk {
			return total, err
		}
	}
}
