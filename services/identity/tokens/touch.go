package tokens

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
)

// groupTimeout bounds one grouped round trip.
const groupTimeout = 10 * time.Second

// maxGroup is the most requests one grouped round trip serves.
const maxGroup = 256

// group sends the requests of concurrent callers to PostgreSQL together, in one round trip (run:
// a pipelined batch of one statement per request, in one implicit transaction), each caller
// continuing only once the round trip holding its request has finished — what a caller sees is
// what its own statement would have shown it at that moment (each statement starts after the
// call and reads every commit before it), only the round trip and the commit are shared. There
// is no background goroutine: the first caller to find no round trip running runs one for
// everything pending, its own request first; those arriving meanwhile wait, and when it is done
// the first of them runs the next one (group commit).
//
// Authentication runs two statements per request (the token lookup, and under load most
// requests' once-a-minute last_used_at touch): measured as much CPU as the whole posting batch
// of the transfer they authenticate, and a commit per request (docs/perf/http-path.md).
type group[In, Out any] struct {
	run     func(ctx context.Context, in []In) ([]Out, error) // one result per input, in order
	mu      sync.Mutex
	pending []*call[In, Out]
	running bool
}

// call is one caller's request and where its outcome goes.
type call[In, Out any] struct {
	ctx  context.Context // the caller's: the round trip runs with the first caller's values (its trace span)
	in   In
	out  Out
	err  error
	done chan bool // true: the outcome is set; false: run the next round trip
}

// do runs in (with whatever else is pending) and returns its result.
func (g *group[In, Out]) do(ctx context.Context, in In) (Out, error) {
	c := &call[In, Out]{ctx: ctx, in: in, done: make(chan bool, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	// Not cancellable: a caller handed the lead must take it, or those behind it would wait for
	// ever. The wait is bounded by groupTimeout per round trip ahead of it.
	if lead || !<-c.done {
		g.flush()
		<-c.done
	}
	return c.out, c.err
}

// flush runs the pending requests (up to maxGroup; the caller's is the first of them) in one
// round trip and answers each; then it hands the next round trip to the first caller still
// waiting, if any.
func (g *group[In, Out]) flush() {
	g.mu.Lock()
	n := min(len(g.pending), maxGroup)
	calls := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()
	in := make([]In, n)
	for i, c := range calls {
		in[i] = c.in
	}
	// The first caller's values (its trace span parents the batch's), not its cancellation.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(calls[0].ctx), groupTimeout)
	out, err := g.run(ctx, in)
	cancel()
	if err == nil && len(out) != n {
		err = errors.New("tokens: grouped round trip: wrong number of results")
	}
	for i, c := range calls {
		if c.err = err; err == nil {
			c.out = out[i]
		}
		c.done <- true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		return
	}
	g.pending[0].done <- false // still running: the lead passes to it
}

// touch is one request's last_used_at write.
type touch struct {
	id  int64
	now time.Time
	ip  string // "" is stored as NULL
}

// touches writes last_used_at (at most once a minute per token: the statement re-checks it),
// the group's touches in one pipelined batch and one implicit transaction (one commit).
func touches(q *db.Queries) *group[touch, struct{}] {
	return &group[touch, struct{}]{run: func(ctx context.Context, in []touch) ([]struct{}, error) {
		arg := make([]db.TouchAccessTokenParams, len(in))
		for i, t := range in {
			arg[i] = db.TouchAccessTokenParams{ID: t.id, Now: t.now, Ip: t.ip}
		}
		var first error
		q.TouchAccessToken(ctx, arg).Exec(func(_ int, err error) {
			if err != nil && first == nil {
				first = err
			}
		})
		if first != nil {
			return nil, fmt.Errorf("tokens: touch: %w", first)
		}
		return make([]struct{}, len(in)), nil
	}}
}

// lookups reads live (not revoked) tokens with their users, the group's lookups in one
// pipelined batch; nil for a token not found.
func lookups(q *db.Queries) *group[int64, *db.GetLiveAccessTokenRow] {
	return &group[int64, *db.GetLiveAccessTokenRow]{run: func(ctx context.Context, ids []int64) ([]*db.GetLiveAccessTokenRow, error) {
		out := make([]*db.GetLiveAccessTokenRow, len(ids))
		var first error
		q.GetLiveAccessToken(ctx, ids).QueryRow(func(i int, row db.GetLiveAccessTokenRow, err error) {
			switch {
			case err == nil:
				out[i] = &row
			case !pg.IsNotFound(err) && first == nil:
				first = err
			}
		})
		if first != nil {
			return nil, fmt.Errorf("tokens: lookup: %w", first)
		}
		return out, nil
	}}
}
