package webhooks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
)

// ListWebhookDeliveries pages a subscription's delivery log, newest attempt first.
func (s *Webhooks) ListWebhookDeliveries(ctx context.Context, req api.ListWebhookDeliveriesRequestObject) (api.ListWebhookDeliveriesResponseObject, error) {
	limit := page.Limit(req.Params.Limit, 20)
	before, err := page.Before(req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.Q.GetWebhookSubscription(ctx, req.Id); isGone(err) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("webhooks: log: %w", err)
	}
	p := db.ListWebhookAttemptsParams{SubscriptionID: req.Id, Before: before, MaxRows: int32(limit + 1)}
	if req.Params.EventId != nil {
		p.EventID = *req.Params.EventId
	}
	rows, err := s.st.Q.ListWebhookAttempts(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("webhooks: log: %w", err)
	}
	resp := api.ListWebhookDeliveries200JSONResponse{Code: "WEBHOOK_DELIVERIES_OK", Message: i18n.Msg(ctx, "WEBHOOK_DELIVERIES_OK"), Data: []api.WebhookAttempt{}}
	rows, resp.NextCursor = page.Cut(rows, limit, func(r db.ListWebhookAttemptsRow) int64 { return r.ID })
	for _, r := range rows {
		resp.Data = append(resp.Data, attemptView(r))
	}
	return resp, nil
}

func attemptView(r db.ListWebhookAttemptsRow) api.WebhookAttempt {
	var status *int
	if r.HttpStatus != nil {
		v := int(*r.HttpStatus)
		status = &v
	}
	next := r.NextAttemptAt
	if r.DeliveryStatus != "pending" {
		next = nil
	}
	return api.WebhookAttempt{Id: r.ID, DeliveryId: r.DeliveryID, EventId: r.EventID, EventType: r.EventType, Attempt: int(r.Attempt),
		Redelivery: r.Redelivery, AttemptedAt: apitime.Format(r.AttemptedAt), Outcome: api.WebhookAttemptOutcome(r.Outcome),
		HttpStatus: status, LatencyMs: int(r.LatencyMs), ResponseExcerpt: r.ResponseExcerpt,
		DeliveryStatus: api.WebhookAttemptDeliveryStatus(r.DeliveryStatus), NextAttemptAt: apitime.FormatPtr(next)}
}

// redelivery is a validated redelivery request: one event, or a time range.
type redelivery struct {
	eventID  int64
	from, to time.Time
}

// redeliveryOf checks that the request names exactly one event or one range, in order.
func redeliveryOf(b *api.WebhookRedeliverRequest) (redelivery, error) {
	switch {
	case b.EventId != nil && b.From == nil && b.To == nil:
		return redelivery{eventID: *b.EventId}, nil
	case b.EventId != nil || b.From == nil || b.To == nil:
		return redelivery{}, apierr.Invalid("body", "redeliver_one_of")
	}
	from, err1 := time.Parse(apitime.Layout, *b.From)
	to, err2 := time.Parse(apitime.Layout, *b.To)
	if err1 != nil || err2 != nil {
		return redelivery{}, apierr.Invalid("from", "invalid")
	}
	if !to.After(from) {
		return redelivery{}, apierr.Invalid("to", "range_order")
	}
	return redelivery{from: from, to: to}, nil
}

// RedeliverWebhookEvents queues new deliveries of one retained event or of a time range.
func (s *Webhooks) RedeliverWebhookEvents(ctx context.Context, req api.RedeliverWebhookEventsRequestObject) (api.RedeliverWebhookEventsResponseObject, error) {
	r, err := redeliveryOf(req.Body)
	if err != nil {
		return nil, err
	}
	queued := 0
	_, err = s.change(ctx, req.Id, func(q *db.Queries, sub db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error) {
		if r.eventID == 0 {
			n, err := q.CountWebhookRedeliveries(ctx, db.CountWebhookRedeliveriesParams{FromTime: r.from, ToTime: r.to, Types: sub.EventTypes})
			if err != nil {
				return sub, err
			}
			if n > maxRedeliver {
				return sub, apierr.Invalid("to", "maximum", strconv.Itoa(maxRedeliver))
			}
		}
		rows, err := q.RedeliverWebhookEvents(ctx, db.RedeliverWebhookEventsParams{SubscriptionID: sub.ID, Active: sub.Status == "active",
			Now: now, Types: sub.EventTypes, EventID: r.eventID, FromTime: r.from, ToTime: r.to})
		if err != nil {
			return sub, err
		}
		if r.eventID != 0 && len(rows) == 0 {
			return sub, ErrEventNotFound
		}
		fresh := make([]newDelivery, len(rows))
		for i, row := range rows {
			fresh[i] = newDelivery(row)
		}
		queued = len(rows)
		if err := s.enqueueNew(ctx, q, fresh); err != nil {
			return sub, err
		}
		return sub, record(ctx, q, now, "webhook.redelivery.queued", sub.ID, map[string]any{"deliveries": queued})
	})
	if err != nil {
		return nil, err
	}
	resp := api.RedeliverWebhookEvents202JSONResponse{Code: "WEBHOOK_REDELIVERY_QUEUED", Message: i18n.Msg(ctx, "WEBHOOK_REDELIVERY_QUEUED")}
	resp.Data.Queued = queued
	return resp, nil
}
