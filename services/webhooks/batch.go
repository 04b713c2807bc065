package webhooks

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
)

// The fan-out queues new deliveries in batches: one River job sends up to batchSize of them,
// read in one query and recorded, when they succeed, in one statement. One job per delivery
// cost each delivery three River writes, two queries and a connection of the small pool for
// the whole exchange, and capped the deliveries well below what the ledger posts at full load
// (issue 17's lag figure). A failed attempt leaves the batch: it is recorded in its own
// transaction with a job of its own for the retry (DeliverArgs), as are the retries, wake-ups
// and redeliveries after it.
//
// Order per chain holds within a batch: a chain's deliveries of one fan-out page go to the same
// job (batchOf), and are sent one after the other, each only when the one before it succeeded
// in this batch; when one does not, the rest of its chain waits (claimLocked) for it to finish.

// batchSize bounds the deliveries of one batch job.
const batchSize = 32

// DeliverBatchArgs is the River job of a batch of new deliveries. Like DeliverArgs it is not
// unique; a delivery finished by an earlier run of the batch (the process died after sending)
// is skipped by its status.
type DeliverBatchArgs struct {
	DeliveryIDs []int64 `json:"delivery_ids"`
}

// Kind implements river.JobArgs.
func (DeliverBatchArgs) Kind() string { return "webhook.deliver_batch" }

// InsertOpts puts batches on the deliveries' queue; a batch failing on the database is
// retried on the client's policy for as long as a delivery would be.
func (DeliverBatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: jobAttempts}
}

// batcher is the River worker of DeliverBatchArgs.
type batcher struct {
	river.WorkerDefaults[DeliverBatchArgs]
	s *Webhooks
}

// Timeout bounds a batch as a single delivery is bounded: its chains run at once, so it lasts
// about one exchange per delivery of its longest chain. A chain cut short by the timeout keeps
// what it recorded (see detached) and the batch is run again for the rest; River rescues a batch
// whose process died once it has run longer than JOBS_RESCUE_AFTER.
func (w *batcher) Timeout(*river.Job[DeliverBatchArgs]) time.Duration {
	return 2*w.s.opt.Timeout + 10*time.Second
}

// recordTimeout bounds the statements that record what was sent, which run even when the
// batch's own time is up: an attempt made is recorded.
const recordTimeout = 10 * time.Second

// detached runs fn on a context that outlives ctx's cancellation by at most recordTimeout.
func detached(ctx context.Context, fn func(context.Context) error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	return fn(rctx)
}

// Work sends the batch's deliveries, chains at once, each chain in order.
func (w *batcher) Work(ctx context.Context, job *river.Job[DeliverBatchArgs]) error {
	s := w.s
	ids := job.Args.DeliveryIDs
	rows, err := s.st.Q.GetWebhookDeliveriesForSend(ctx, ids)
	if err != nil {
		return err
	}
	chains := chainsOf(rows)
	done := make([][]sent, len(chains))
	errs := make([]error, len(chains))
	var wg sync.WaitGroup
	for i, c := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done[i], errs[i] = s.sendChain(ctx, c)
		}()
	}
	wg.Wait()
	var ok []sent
	for _, d := range done {
		ok = append(ok, d...)
	}
	if err := detached(ctx, func(ctx context.Context) error { return s.deliveredAll(ctx, ok) }); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err() // cut short: run again for the chains' rest
	}
	for _, err := range errs {
		if err != nil {
			return err // River runs the batch again; what was recorded is skipped
		}
	}
	return nil
}

// sent is a delivery whose attempt succeeded.
type sent struct {
	d   delivery
	res result
}

// chainsOf groups deliveries by (subscription, chain), each group in id order.
func chainsOf(rows []delivery) [][]delivery {
	type key struct {
		sub   int64
		chain string
	}
	at := map[key]int{}
	var out [][]delivery
	for _, d := range rows {
		k := key{d.SubscriptionID, d.Chain}
		i, seen := at[k]
		if !seen {
			i = len(out)
			at[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], d)
	}
	return out
}

// sendChain sends a chain's deliveries in order and returns those that succeeded. A delivery
// goes without a lock when it is pending, its subscription active, nothing outside the batch
// is ahead of it, and the one before it in the batch (if any) succeeded; otherwise claimLocked
// decides (it then waits for, or follows, what is ahead). A failure is settled at once, with
// its retry's job.
func (s *Webhooks) sendChain(ctx context.Context, chain []delivery) ([]sent, error) {
	var ok []sent
	prevOK := true
	secrets := map[int64][]string{}
	for _, d := range chain {
		if ctx.Err() != nil {
			return ok, nil // the rest stays pending; Work returns the context's error
		}
		send := prevOK && d.Status == "pending" && d.SubscriptionStatus == "active" && !d.Ahead
		if !send {
			var err error
			if d, send, err = s.claimLocked(ctx, d); err != nil {
				return ok, err
			}
		}
		if prevOK = send; !send {
			continue
		}
		sec, have := secrets[d.SubscriptionID]
		if !have {
			var err error
			if sec, err = s.signingSecrets(d.SubscriptionID, d.SecretSealed, d.PreviousSecretSealed, d.PreviousSecretExpiresAt, s.clock.Now()); err != nil {
				s.log.Error("webhooks: secrets", "subscription", d.SubscriptionID, "error", err.Error())
				prevOK = false
				continue // as a single job's JobCancel: the delivery stays pending, the sweep does not send it
			}
			secrets[d.SubscriptionID] = sec
		}
		release, err := s.slot(ctx)
		if err != nil {
			return ok, nil // not attempted: the rest stays pending; Work returns the context's error
		}
		res := s.send(ctx, d, sec)
		release()
		if res.outcome == "delivered" {
			ok = append(ok, sent{d, res})
			continue
		}
		prevOK = false
		metrics.WebhookAttempts.WithLabelValues(res.outcome).Inc()
		if err := detached(ctx, func(ctx context.Context) error { _, err := s.settle(ctx, d, res, true); return err }); err != nil {
			return ok, err
		}
	}
	return ok, nil
}

// deliveredAll records the batch's successes in one statement, then wakes, under each chain's
// lock, the next delivery of the chains that have one other than these successes (see delivered).
func (s *Webhooks) deliveredAll(ctx context.Context, ok []sent) error {
	if len(ok) == 0 {
		return nil
	}
	now := s.clock.Now()
	p := db.WebhooksDeliveredParams{Now: now}
	for _, x := range ok {
		var status int32
		if x.res.status != nil {
			status = *x.res.status
		}
		excerpt := ""
		if x.res.excerpt != nil {
			excerpt = *x.res.excerpt
		}
		p.Ids = append(p.Ids, x.d.ID)
		p.SubscriptionIds = append(p.SubscriptionIds, x.d.SubscriptionID)
		p.Chains = append(p.Chains, x.d.Chain)
		p.Attempts = append(p.Attempts, x.d.Attempts+1)
		p.AttemptedAt = append(p.AttemptedAt, x.res.at)
		p.HttpStatuses = append(p.HttpStatuses, status)
		p.LatenciesMs = append(p.LatenciesMs, int32(x.res.latency/time.Millisecond))
		p.Excerpts = append(p.Excerpts, excerpt)
	}
	rows, err := s.st.Q.WebhooksDelivered(ctx, p)
	if err != nil {
		return fmt.Errorf("webhooks: record batch: %w", err)
	}
	for _, x := range ok {
		metrics.WebhookAttempts.WithLabelValues(x.res.outcome).Inc()
		if x.d.Attempts == 0 {
			metrics.WebhookLag.Observe(now.Sub(x.d.OccurredAt).Seconds())
		}
	}
	for _, r := range rows {
		if r.NextID == 0 {
			continue
		}
		err := s.st.Tx(ctx, func(q *db.Queries) error {
			if err := q.LockWebhookChain(ctx, db.LockWebhookChainParams{SubscriptionID: r.SubscriptionID, Chain: r.Chain}); err != nil {
				return err
			}
			return s.wake(ctx, q, delivery{ID: r.ID, SubscriptionID: r.SubscriptionID, Chain: r.Chain})
		})
		if err != nil && !pg.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// enqueueNew gives the fan-out's new pending deliveries their batch jobs, a chain's all in the
// same batch, in q's transaction.
func (s *Webhooks) enqueueNew(ctx context.Context, q *db.Queries, rows []newDelivery) error {
	var pending []newDelivery
	for _, r := range rows {
		if r.Status == "pending" {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	n := (len(pending) + batchSize - 1) / batchSize
	batches := make([][]int64, n)
	seed := maphash.MakeSeed()
	for _, r := range pending { // in id order, so each batch is too
		i := int(maphash.String(seed, fmt.Sprint(r.SubscriptionID, "/", r.Chain)) % uint64(n))
		batches[i] = append(batches[i], r.ID)
	}
	tx, ok := pg.TxOf(q)
	if !ok {
		return jobs.ErrNotInTx
	}
	var params []river.InsertManyParams
	for _, b := range batches {
		if len(b) > 0 {
			params = append(params, river.InsertManyParams{Args: DeliverBatchArgs{DeliveryIDs: b}})
		}
	}
	_, err := s.jobs.Client().InsertManyFastTx(ctx, tx, params)
	return err
}

// newDelivery is a delivery just inserted by the fan-out or a redelivery.
type newDelivery struct {
	ID             int64
	Status         string
	SubscriptionID int64
	Chain          string
}
