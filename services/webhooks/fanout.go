package webhooks

import (
	"context"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/retry"
)

// Deliveries are queued by a fan-out, not in the transaction of each event. The event itself is
// written in its change's transaction (the ledger's in its posting statement, issue 17), so what
// happened is decided there; turning an event into one delivery and one River job per matching
// subscription there would add a join and a job insert per subscription to every money
// movement, and make the ledger's hot path depend on how many subscriptions exist. Instead the
// fan-out reads the feed after its own cursor (webhook_fanout) — the feed's positions follow
// commit order and never move, so nothing is skipped — and in one transaction inserts the page's
// deliveries, their jobs and the new cursor: a crash before the commit redoes the page, after it
// there is nothing to redo, so every (subscription, event) is queued exactly once (a unique index
// says so too). One instance sweeps at a time (the cursor row is locked, the others skip).

// RunFanout queues the deliveries of new feed events every FanoutEvery until ctx ends.
func (s *Webhooks) RunFanout(ctx context.Context) {
	var swept time.Time
	retry.Every(ctx, s.opt.FanoutEvery, func(ctx context.Context) {
		if time.Since(swept) >= sweepEvery {
			swept = time.Now()
			if err := s.wakeStuck(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webhooks: sweep", "error", err.Error())
			}
		}
		for {
			n, err := s.FanOut(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("webhooks: fan-out", "error", err.Error())
				}
				return
			}
			if n < fanoutPage {
				return
			}
		}
	})
}

// FanOut queues the deliveries of the next page of feed events and says how many feed
// positions it covered (0: none new, or another instance is sweeping).
func (s *Webhooks) FanOut(ctx context.Context) (int, error) {
	covered := 0
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		after, err := q.LockWebhookFanout(ctx)
		if isGone(err) {
			return nil // another instance holds the cursor
		}
		if err != nil {
			return err
		}
		upto, err := q.WebhookFanoutPage(ctx, db.WebhookFanoutPageParams{After: after, MaxRows: fanoutPage})
		if err != nil || upto == 0 {
			return err
		}
		rows, err := q.FanOutWebhookDeliveries(ctx, db.FanOutWebhookDeliveriesParams{After: after, Upto: upto, Now: s.clock.Now()})
		if err != nil {
			return err
		}
		fresh := make([]newDelivery, len(rows))
		for i, r := range rows {
			fresh[i] = newDelivery(r)
		}
		if err := s.enqueueNew(ctx, q, fresh); err != nil {
			return err
		}
		covered = int(upto - after)
		return q.SetWebhookFanout(ctx, upto)
	})
	return covered, err
}

// sweepEvery is how often the fan-out looks for deliveries left waiting with nothing ahead.
const sweepEvery = 30 * time.Second

// wakeStuck wakes the waiting deliveries whose turn came while nobody was left to give it.
func (s *Webhooks) wakeStuck(ctx context.Context) error {
	stuck, err := s.st.Q.StuckWebhookWaits(ctx)
	if err != nil {
		return err
	}
	for _, w := range stuck {
		err := s.st.Tx(ctx, func(q *db.Queries) error {
			if err := q.LockWebhookChain(ctx, db.LockWebhookChainParams{SubscriptionID: w.SubscriptionID, Chain: w.Chain}); err != nil {
				return err
			}
			d, err := deliveryByID(ctx, q, w.ID)
			if err != nil || d.Status != "waiting" || d.Ahead {
				return err
			}
			return s.wakeID(ctx, q, d.ID)
		})
		if err != nil && !isGone(err) {
			return err
		}
	}
	return nil
}
