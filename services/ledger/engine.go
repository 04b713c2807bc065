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
)

// item is one money request waiting for the engine. Everything that can be resolved without a
// lock (ownership, recipient, limits, policy) is resolved before it is queued.
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
	hold          *holdInfo // settle/void: the hold as read before queueing
	preFail       string    // failure code known before locking
	fromUser      *string
	toUser        *string

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

// engine runs the posting workers of one instance. Each worker owns a queue; an item goes to
// the queue of its debit account, so every movement out of one account — the balance-checked
// side, the one a hot payer contends on — is batched by one worker instead of several workers
// taking turns on its row lock.
type engine struct {
	s        *Service
	queues   []chan *item
	maxBatch int
	running  atomic.Bool
}

func newEngine(s *Service, workers, maxBatch int) *engine {
	e := &engine{s: s, maxBatch: maxBatch}
	for i := 0; i < workers; i++ {
		e.queues = append(e.queues, make(chan *item, 4096))
	}
	return e
}

// submit queues it and waits for its committed outcome. When the caller gives up (ctx done)
// the item is still applied: its outcome is stored under its idempotency key for the retry.
func (e *engine) submit(ctx context.Context, it *item) outcome {
	if !e.running.Load() {
		return outcome{err: ErrEngineUnavailable}
	}
	it.done = make(chan outcome, 1)
	q := e.queues[uint64(it.debit)%uint64(len(e.queues))]
	select {
	case q <- it:
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
	for _, q := range e.queues {
		wg.Add(1)
		go func(q chan *item) { defer wg.Done(); e.work(ctx, q) }(q)
	}
	<-ctx.Done()
	e.running.Store(false)
	wg.Wait()
	for _, q := range e.queues {
	drain:
		for {
			select {
			case it := <-q:
				it.done <- outcome{err: ErrEngineUnavailable}
			default:
				break drain
			}
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
