package tokens

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/flowxi/backend/gen/db"
)

// touchTimeout bounds one statement of touches.
const touchTimeout = 10 * time.Second

// maxTouches is the most touches one statement writes.
const maxTouches = 256

// toucher writes last_used_at (at most once a minute per token) for many requests in one
// statement, each request continuing only once the statement holding its touch has committed —
// what a request saw before is unchanged (idle expiry, the devices list), only the statement is
// shared. Under load most requests of distinct tokens each need their touch (a user sending one
// transfer a minute): one autocommit UPDATE each cost a round trip and a commit per request,
// and measured as much CPU as the whole posting batch (docs/perf/http-path.md). There is no
// background goroutine: the first request to find no statement running writes the pending
// touches, its own among them; those arriving meanwhile wait, and when it is done the first of
// them writes the next statement (group commit).
type toucher struct {
	q       *db.Queries
	mu      sync.Mutex
	pending []*touchReq
	running bool
}

// touchReq is one request's touch and where its outcome goes: nil once written, errLead when
// its request is to write the next statement.
type touchReq struct {
	id   int64
	now  time.Time
	ip   string
	done chan error
}

var errLead = fmt.Errorf("tokens: lead the next touch")

// touch writes the token's last use (ip "" is stored as NULL) and returns once it is committed.
func (t *toucher) touch(id int64, now time.Time, ip string) error {
	r := &touchReq{id: id, now: now, ip: ip, done: make(chan error, 1)}
	t.mu.Lock()
	t.pending = append(t.pending, r)
	lead := !t.running
	t.running = true
	t.mu.Unlock()
	if !lead {
		// Not cancellable: a request handed the lead must take it, or those behind it would wait
		// for ever. The wait is bounded by touchTimeout per statement ahead of it.
		if err := <-r.done; err != errLead {
			return err
		}
	}
	t.flush()
	return <-r.done
}

// flush writes the pending touches (up to maxTouches; the caller's is the first of them) in one
// statement and answers each; then it hands the next statement to the first request still
// waiting, if any.
func (t *toucher) flush() {
	t.mu.Lock()
	n := min(len(t.pending), maxTouches)
	batch := t.pending[:n:n]
	t.pending = t.pending[n:]
	t.mu.Unlock()
	arg := db.TouchAccessTokensParams{Ids: make([]int64, n), Nows: make([]time.Time, n), Ips: make([]string, n)}
	for i, r := range batch {
		arg.Ids[i], arg.Nows[i], arg.Ips[i] = r.id, r.now, r.ip
	}
	ctx, cancel := context.WithTimeout(context.Background(), touchTimeout)
	err := t.q.TouchAccessTokens(ctx, arg)
	cancel()
	if err != nil {
		err = fmt.Errorf("tokens: touch: %w", err)
	}
	for _, r := range batch {
		r.done <- err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		t.running = false
		return
	}
	t.pending[0].done <- errLead // still running: the lead passes to it
}
