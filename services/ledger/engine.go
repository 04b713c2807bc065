package ledger

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// op is the kind of movement a queued item asks for.
type op int

const (
	opTransfer op = iota
	opDeposit
	opHold
	opSettle
	opVoid
	opReverse
	opCount // the number of operations: every table indexed by op has this length
)

// item is one money request waiting for the engine. Only what identifies the accounts is settled
// before they are locked (for deposits and holds before queueing, for transfers by the batch:
// resolveTransfers, ownership and recipient in one statement); every rule of the money policy
// is decided under the locks (policy.go).
type item struct {
	ctx      context.Context // request values (actor, request id) for audit; never used to cancel
	op       op
	caller   string // idempotency scope: "u:<user id>" or "k:<internal key id>"
	key      string
	reqHash  []byte
	initType string // user | internal_key
	initID   string
	userID   int64 // the user concerned (audit)

	debit, credit int64 // accounts: money leaves debit and reaches credit (0: none)
	amount        int64
	currency      string
	note, extRef  string
	holdID        int64
	hold          *holdInfo     // settle/void: the hold as read before queueing
	expiresIn     time.Duration // holds: time to expiry
	expiry        bool          // a void by the expiry worker
	recipientFail string        // transfers: why the recipient cannot receive, as resolved (decided after the sender's rules)
	fromUser      *string
	toUser        *string
	toUsername    string // transfers: the recipient as asked (by username, or by wallet id)
	toWallet      int64
	reverses      int64 // reversals: the original transaction
	origAmount    int64 // reversals: the original's amount (immutable once posted)

	done chan outcome
}

// holdInfo is what a settle or void needs to know about its hold.
type holdInfo struct {
	createdAt time.Time
	note      *string
	extRef    *string
}

// outcome is what a caller receives once the batch holding its item has committed.
type outcome struct {
	status   int    // HTTP status of a stored outcome
	code     string // its code
	data     []byte // its api.Transaction JSON
	replayed bool
	err      error // a failure that recorded nothing
}

// engine runs the posting workers of one instance. They share one queue: a worker that comes
// free takes everything queued (up to maxBatch) as its next batch, so batches grow with the load
// and the lock, the statements and the commit are paid once per batch. Measured on 2 cores with
// 16 clients, a shared queue beat one queue per worker (split by debit account): splitting halves
// every batch, and the per-batch cost is what dominates. Items for one hot account may land in
// both workers' batches; the second simply waits for the first one's commit on the row lock
// (accounts are always locked in id order, so never a deadlock).
type engine struct {
	s        *Service
	queue    chan *item
	workers  int
	maxBatch int
	running  atomic.Bool
}

func newEngine(s *Service, workers, maxBatch int) *engine {
	return &engine{s: s, queue: make(chan *item, 4096), workers: workers, maxBatch: maxBatch}
}

// submit queues it and waits for its committed outcome. When the caller gives up (ctx done)
// the item is still applied: its outcome is stored under its idempotency key for the retry.
func (e *engine) submit(ctx context.Context, it *item) outcome {
	if !e.running.Load() {
		return outcome{err: ErrEngineUnavailable}
	}
	it.done = make(chan outcome, 1)
	select {
	case e.queue <- it:
	case <-ctx.Done():
		return outcome{err: ctx.Err()}
	}
	select {
	case o := <-it.done:
		return o
	case <-ctx.Done():
		return outcome{err: ctx.Err()}
	}
}

// run starts the workers and waits for them; on shutdown, items still queued are answered
// SERVICE_UNAVAILABLE without being applied.
func (e *engine) run(ctx context.Context) {
	e.running.Store(true)
	var wg sync.WaitGroup
	for i := 0; i < e.workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); e.work(ctx, e.queue) }()
	}
	<-ctx.Done()
	e.running.Store(false)
	wg.Wait()
	for {
		select {
		case it := <-e.queue:
			it.done <- outcome{err: ErrEngineUnavailable}
		default:
			return
		}
	}
}

// work takes whatever is queued (up to maxBatch) as one batch. While a batch holds a hot
// account's lock, the requests that need it pile up in the queue and form the next batch: the
// busier the account, the bigger the batches, and the lock and commit are paid once per batch.
func (e *engine) work(ctx context.Context, queue chan *item) {
	for {
		var first *item
		select {
		case <-ctx.Done():
			return
		case first = <-queue:
		}
		batch := []*item{first}
	drain:
		for len(batch) < e.maxBatch {
			select {
			case it := <-queue:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		e.s.runBatch(batch)
	}
}
