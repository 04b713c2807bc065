package webhooks

import (
	"context"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// isGone reports a delivery that no longer exists (its subscription deleted, its event pruned).
func isGone(err error) bool { return pg.IsNotFound(err) }

// settle records the attempt and what follows from it. A success is one statement, with no
// lock unless the chain has a next delivery to wake (then delivered wakes it under the chain's
// lock, which the next one takes to decide it waits: either it sees this one finished, or this
// one sees it waiting). A failure is one transaction under the chain's lock: retried at the
// returned time, given up after WEBHOOK_RETRY_FOR (the next one woken), or held because the
// subscription is no longer active — disabled now, when it has failed for WEBHOOK_DISABLE_AFTER.
// reschedule gives a retry its own job, in that transaction (an attempt of a batch: the batch
// job is not retried for it); otherwise the caller's job is retried at the time returned.
func (s *Webhooks) settle(ctx context.Context, d delivery, res result, reschedule bool) (*time.Time, error) {
	var next *time.Time
	disabled := false
	var err error
	if res.outcome == "delivered" {
		err = s.delivered(ctx, d, res)
	} else {
		err = s.st.Tx(ctx, func(q *db.Queries) error {
			if err := q.LockWebhookChain(ctx, db.LockWebhookChainParams{SubscriptionID: d.SubscriptionID, Chain: d.Chain}); err != nil {
				return err
			}
			var err error
			if next, disabled, err = s.notDelivered(ctx, q, d, res); err != nil || next == nil || !reschedule {
				return err
			}
			return s.enqueueAt(ctx, q, d.ID, *next)
		})
	}
	if isGone(err) || pg.IsForeignKeyViolation(err) {
		return nil, nil // deleted while the attempt ran
	}
	if err == nil && res.outcome == "delivered" && d.Attempts == 0 {
		metrics.WebhookLag.Observe(s.clock.Now().Sub(d.OccurredAt).Seconds())
	}
	if err == nil && disabled {
		metrics.WebhookDisabled.Inc()
		s.log.Warn("webhook subscription disabled", "subscription", d.SubscriptionID)
	}
	return next, err
}

// delivered records a successful attempt in one statement and, when the chain has a next
// unfinished delivery, wakes it if it waits. Should the process die between the two, the
// fan-out's sweep (wakeStuck) wakes it.
func (s *Webhooks) delivered(ctx context.Context, d delivery, res result) error {
	now := s.clock.Now()
	n, err := s.st.Q.WebhookDelivered(ctx, db.WebhookDeliveredParams{ID: d.ID, SubscriptionID: d.SubscriptionID, Chain: d.Chain,
		Attempt: d.Attempts + 1, AttemptedAt: res.at, HttpStatus: res.status, LatencyMs: int32(res.latency / time.Millisecond),
		ResponseExcerpt: res.excerpt, Now: &now})
	if err != nil || n.NextID == 0 {
		return err
	}
	return s.st.Tx(ctx, func(q *db.Queries) error {
		if err := q.LockWebhookChain(ctx, db.LockWebhookChainParams{SubscriptionID: d.SubscriptionID, Chain: d.Chain}); err != nil {
			return err
		}
		return s.wake(ctx, q, d)
	})
}

// notDelivered records a failed attempt and decides what follows (failed).
func (s *Webhooks) notDelivered(ctx context.Context, q *db.Queries, d delivery, res result) (*time.Time, bool, error) {
	if err := q.InsertWebhookAttempt(ctx, db.InsertWebhookAttemptParams{DeliveryID: d.ID, SubscriptionID: d.SubscriptionID,
		Attempt: d.Attempts + 1, AttemptedAt: res.at, Outcome: res.outcome, HttpStatus: res.status,
		LatencyMs: int32(res.latency / time.Millisecond), ResponseExcerpt: res.excerpt}); err != nil {
		return nil, false, err
	}
	now := s.clock.Now()
	fin := db.FinishWebhookAttemptParams{ID: d.ID, AttemptedAt: &res.at}
	next, disabled, err := s.failed(ctx, q, d, now, &fin)
	if err != nil {
		return nil, false, err
	}
	if err := q.FinishWebhookAttempt(ctx, fin); err != nil {
		return nil, false, err
	}
	if fin.Status == "failed" {
		return nil, false, s.wake(ctx, q, d)
	}
	return next, disabled, nil
}

// failed decides what follows a failed attempt and sets fin's status: the subscription's
// failure streak goes on (or starts); past WEBHOOK_DISABLE_AFTER it is disabled and the
// delivery held; past WEBHOOK_RETRY_FOR the delivery is given up; otherwise it is retried after
// the backoff (at the latest when its retry window closes).
func (s *Webhooks) failed(ctx context.Context, q *db.Queries, d delivery, now time.Time, fin *db.FinishWebhookAttemptParams) (*time.Time, bool, error) {
	sub, err := q.WebhookFailed(ctx, db.WebhookFailedParams{ID: d.SubscriptionID, Now: now})
	if err != nil {
		return nil, false, err
	}
	first := res0(d.FirstAttemptAt, *fin.AttemptedAt)
	switch {
	case sub.Status == "active" && sub.FailingSince != nil && now.Sub(*sub.FailingSince) >= s.opt.DisableAfter:
		fin.Status = "held"
		return nil, true, s.disable(ctx, q, sub, now)
	case sub.Status != "active":
		fin.Status = "held"
		return nil, false, nil
	case now.Sub(first) >= s.opt.RetryFor:
		fin.Status, fin.FinishedAt = "failed", &now
		return nil, false, nil
	}
	at := now.Add(backoff(int(d.Attempts) + 1))
	if last := first.Add(s.opt.RetryFor); at.After(last) {
		at = last // the last attempt comes when the retry window closes
	}
	fin.Status, fin.NextAttemptAt = "pending", &at
	return &at, false, nil
}

// res0 is the first attempt's time: the recorded one, or this attempt's.
func res0(recorded *time.Time, this time.Time) time.Time {
	if recorded != nil {
		return *recorded
	}
	return this
}

// disable turns a continuously failing subscription off, with its audit row and its event, in
// the transaction of the attempt that passed the limit.
func (s *Webhooks) disable(ctx context.Context, q *db.Queries, sub db.WebhookSubscription, now time.Time) error {
	if _, err := q.SetWebhookSubscriptionStatus(ctx, db.SetWebhookSubscriptionStatusParams{ID: sub.ID, Status: "disabled",
		FailingSince: sub.FailingSince, DisabledAt: &now, Now: now}); err != nil {
		return err
	}
	since := apitime.Format(*sub.FailingSince)
	if err := audit.Record(ctx, q, now, audit.Event{Action: "webhook.subscription.disabled", System: true,
		SubjectType: "webhook_subscription", SubjectID: strconv.FormatInt(sub.ID, 10),
		Details: map[string]any{"failing_since": since, "disable_after_seconds": int64(s.opt.DisableAfter / time.Second)}}); err != nil {
		return err
	}
	return events.Record(ctx, q, now, events.Event{Type: events.WebhookSubscriptionDisabled,
		SubjectType: events.SubjectWebhookSubscription, SubjectID: strconv.FormatInt(sub.ID, 10),
		Data: api.WebhookSubscriptionDisabledEventData{SubscriptionId: sub.ID, FailingSince: since, DisabledAt: apitime.Format(now)}})
}

// wake gives the next delivery of d's chain its job when it was waiting for d.
func (s *Webhooks) wake(ctx context.Context, q *db.Queries, d delivery) error {
	n, err := q.NextInWebhookChain(ctx, db.NextInWebhookChainParams{SubscriptionID: d.SubscriptionID, Chain: d.Chain, ID: d.ID})
	if pg.IsNotFound(err) || (err == nil && n.Status != "waiting") {
		return nil
	}
	if err != nil {
		return err
	}
	return s.wakeID(ctx, q, n.ID)
}

// wakeID makes the waiting delivery id pending and gives it its job.
func (s *Webhooks) wakeID(ctx context.Context, q *db.Queries, id int64) error {
	if err := q.SetWebhookDeliveryStatus(ctx, db.SetWebhookDeliveryStatusParams{ID: id, Status: "pending"}); err != nil {
		return err
	}
	return s.enqueue(ctx, q, []int64{id})
}

// enqueueAt inserts, in q's transaction, the job of a delivery's retry due at t.
func (s *Webhooks) enqueueAt(ctx context.Context, q *db.Queries, id int64, t time.Time) error {
	return s.jobs.Insert(ctx, q, DeliverArgs{DeliveryID: id}, &river.InsertOpts{Queue: Queue, MaxAttempts: jobAttempts, ScheduledAt: t})
}

// enqueue inserts the jobs of deliveries in q's transaction.
func (s *Webhooks) enqueue(ctx context.Context, q *db.Queries, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	tx, ok := pg.TxOf(q)
	if !ok {
		return jobs.ErrNotInTx
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: DeliverArgs{DeliveryID: id}}
	}
	_, err := s.jobs.Client().InsertManyFastTx(ctx, tx, params)
	return err
}
