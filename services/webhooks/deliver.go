package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/egress"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/retry"
	"github.com/flowxi/backend/services/events"
)

// DeliverArgs is the River job of one delivery (a row of webhook_deliveries). It is not a
// unique job: a delivery that waits behind an earlier one of its chain completes its job and
// is given a new one when it is woken, possibly while the old job is still being completed, and
// a unique job would then be silently dropped. The delivery's status makes a second job
// harmless (it finds the delivery finished, or not its turn).
type DeliverArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "webhook.deliver" }

// InsertOpts puts deliveries on their queue; the number of attempts is bounded by time
// (WEBHOOK_RETRY_FOR), not by River's count, which only has to stay out of the way.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: jobAttempts}
}

// deliverer is the River worker of DeliverArgs.
type deliverer struct {
	river.WorkerDefaults[DeliverArgs]
	s *Webhooks
	// next holds, from a failed attempt to River's call of NextRetry on the same job, the
	// retry time the attempt recorded in the delivery log.
	next sync.Map
}

// Work makes one attempt of the delivery when it is its turn; nil when it is done, waits, is
// held or was deleted; an error when it is to be retried (at the time NextRetry gives).
func (w *deliverer) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	d, ok, err := s.claim(ctx, job.Args.DeliveryID)
	if err != nil || !ok {
		return err
	}
	secrets, err := s.signingSecrets(d.SubscriptionID, d.SecretSealed, d.PreviousSecretSealed, d.PreviousSecretExpiresAt, s.clock.Now())
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhooks: secrets of subscription %d: %w", d.SubscriptionID, err))
	}
	release, err := s.slot(ctx)
	if err != nil {
		return err // not attempted: River runs the job again
	}
	res := s.send(ctx, d, secrets)
	release()
	next, err := s.settle(ctx, d, res, false)
	if err != nil {
		return err
	}
	metrics.WebhookAttempts.WithLabelValues(res.outcome).Inc()
	if next == nil {
		return nil
	}
	w.next.Store(job.ID, *next)
	return fmt.Errorf("webhooks: delivery %d attempt %d: %s", d.ID, d.Attempts+1, res.outcome)
}

// NextRetry is the retry time the failed attempt recorded.
func (w *deliverer) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	if t, ok := w.next.LoadAndDelete(job.ID); ok {
		return t.(time.Time)
	}
	return w.s.clock.Now().Add(retryBase)
}

// Timeout bounds one attempt: the exchange and the two short transactions around it.
func (w *deliverer) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return 2*w.s.opt.Timeout + 10*time.Second
}

// backoff is the wait after the attempt-th failure: 5 s doubling up to an hour, ±20 % jitter
// (so the waits still grow strictly until the cap, and failing receivers are not hit in step).
func backoff(attempt int) time.Duration {
	d := retry.Backoff(attempt, retryBase, retryCap)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// claim reads the delivery and decides whether it is sent now: not when it is finished or gone.
// The common case needs no lock: a pending delivery of an active subscription with no older
// unfinished delivery in its chain is sent (a finished delivery never becomes unfinished again,
// so nothing can come to be ahead of it). Otherwise claimLocked decides under the chain's lock.
func (s *Webhooks) claim(ctx context.Context, id int64) (delivery, bool, error) {
	d, err := deliveryByID(ctx, s.st.Q, id)
	switch {
	case isGone(err):
		return d, false, nil // the subscription was deleted, or the event pruned
	case err != nil:
		return d, false, err
	case d.Status == "delivered" || d.Status == "failed":
		return d, false, nil
	case d.Status == "pending" && d.SubscriptionStatus == "active" && !d.Ahead:
		return d, true, nil
	}
	return s.claimLocked(ctx, d)
}

// claimLocked decides under the chain's lock (which the delivery that finishes ahead of it
// takes to wake the next one): held when the subscription is not active, waiting when an older
// delivery of the chain is unfinished, sent otherwise.
func (s *Webhooks) claimLocked(ctx context.Context, d delivery) (delivery, bool, error) {
	send := false
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		if err := q.LockWebhookChain(ctx, db.LockWebhookChainParams{SubscriptionID: d.SubscriptionID, Chain: d.Chain}); err != nil {
			return err
		}
		var err error
		if d, err = deliveryByID(ctx, q, d.ID); err != nil { // as it is under the lock
			return err
		}
		status := "pending"
		switch {
		case d.Status == "delivered" || d.Status == "failed":
			return nil
		case d.SubscriptionStatus != "active":
			status = "held"
		case d.Ahead:
			status = "waiting"
		default:
			send = true
		}
		if status == d.Status {
			return nil
		}
		return q.SetWebhookDeliveryStatus(ctx, db.SetWebhookDeliveryStatusParams{ID: d.ID, Status: status})
	})
	if isGone(err) {
		return d, false, nil
	}
	return d, send, err
}

// delivery is what an attempt needs of a delivery (GetWebhookDeliveriesForSend).
type delivery = db.GetWebhookDeliveriesForSendRow

// deliveryByID reads one delivery for an attempt; pg.ErrNotFound when it is gone.
func deliveryByID(ctx context.Context, q *db.Queries, id int64) (delivery, error) {
	rows, err := q.GetWebhookDeliveriesForSend(ctx, []int64{id})
	if err == nil && len(rows) == 0 {
		err = pg.ErrNotFound
	}
	if err != nil {
		return delivery{}, err
	}
	return rows[0], nil
}

// result is what one attempt came to.
type result struct {
	at      time.Time
	outcome string
	status  *int32
	latency time.Duration
	excerpt *string
}

// send POSTs the event, signed, and reads at most ExcerptBytes of the answer.
func (s *Webhooks) send(ctx context.Context, d delivery, secrets []string) result {
	body := eventBody(d)
	res := result{at: s.clock.Now()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Url, bytes.NewReader(body))
	if err != nil {
		res.outcome = "connection_error"
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Flowxi-Webhooks/1")
	req.Header.Set(HeaderEventID, strconv.FormatInt(d.EventID, 10))
	req.Header.Set(HeaderEventType, d.Type)
	req.Header.Set(HeaderAttempt, strconv.Itoa(int(d.Attempts)+1))
	req.Header.Set(HeaderSignature, Sign(res.at, body, secrets...))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		res.latency, res.outcome = time.Since(start), egress.Outcome(err)
		return res
	}
	b := egress.ReadAtMost(resp.Body, ExcerptBytes, 64<<10)
	_ = resp.Body.Close()
	res.latency = time.Since(start)
	code := int32(resp.StatusCode)
	res.status = &code
	if len(b) > 0 {
		e := strings.ToValidUTF8(strings.ReplaceAll(string(b), "\x00", "\uFFFD"), "\uFFFD")
		res.excerpt = &e
	}
	res.outcome = "http_error"
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		res.outcome = "delivered"
	}
	return res
}

// slot waits for one of the Options.Workers exchanges an instance makes at once, whatever job
// they belong to (a batch sends its chains at once); release gives it back. As many
// connections per receiver are kept open between exchanges (egress.Limits.Conns): with more
// exchanges than idle connections, the extra ones were closed after each delivery and dialled
// again. An error (the context's) means the delivery was not attempted.
func (s *Webhooks) slot(ctx context.Context) (release func(), err error) {
	if err := s.slots.Acquire(ctx); err != nil {
		return nil, err
	}
	return s.slots.Release, nil
}

// eventBody is the delivery's body: the event, byte for byte as the feed shows it.
func eventBody(d delivery) []byte {
	b, _ := events.MarshalRow(db.ListEventFeedRow{ID: d.EventID, Type: d.Type, Version: d.Version, OccurredAt: d.OccurredAt,
		SubjectType: d.SubjectType, SubjectID: d.SubjectID, UserID: d.UserID, Data: d.Data})
	return b
}
