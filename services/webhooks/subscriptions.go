package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/egress"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/internalkeys"
)

// DefaultOverlap is how long a rotated-out secret keeps signing unless the request says.
const DefaultOverlap = 24 * time.Hour

// settings are a subscription's validated fields.
type settings struct {
	url         string
	host        string // for the audit log: the URL itself may carry a receiver's token
	eventTypes  []string
	description *string
}

// checkURL applies the egress policy to a submitted URL: the rules url_http, url_https and
// url_address under url.
func (s *Webhooks) checkURL(ctx context.Context, f *apierr.Fields, raw string) *url.URL {
	u, err := s.egress.CheckURL(ctx, raw)
	switch {
	case errors.Is(err, egress.ErrHTTPSRequired):
		f.Add("url", "url_https")
	case errors.Is(err, egress.ErrForbiddenAddress):
		f.Add("url", "url_address")
	case err != nil:
		f.Add("url", "url_http")
	}
	if err != nil {
		return nil
	}
	return u
}

// checkTypes keeps the event types once each, in the order given; an unknown one is the rule
// event_type under event_types.
func (s *Webhooks) checkTypes(f *apierr.Fields, types []string) []string {
	var out []string
	for _, t := range types {
		if t != "*" && !s.known(t) {
			f.Add("event_types", "event_type")
			return nil
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// checkDescription applies the free-text rule to a description (empty: none).
func checkDescription(f *apierr.Fields, d *string) *string {
	if d == nil || *d == "" {
		return nil
	}
	out, rule, param := rules.Text(*d, 200)
	if rule != "" {
		f.Add("description", rule, param)
		return nil
	}
	return &out
}

// subscriptionView is the API shape of a row (never its secrets).
func subscriptionView(r db.WebhookSubscription) api.WebhookSubscription {
	return api.WebhookSubscription{Id: r.ID, Url: r.Url, Description: r.Description, EventTypes: r.EventTypes,
		Status: api.WebhookSubscriptionStatus(r.Status), FailingSince: apitime.FormatPtr(r.FailingSince),
		DisabledAt: apitime.FormatPtr(r.DisabledAt), PreviousSecretExpiresAt: apitime.FormatPtr(r.PreviousSecretExpiresAt),
		CreatedBy: r.CreatedBy, CreatedAt: apitime.Format(r.CreatedAt), UpdatedAt: apitime.Format(r.UpdatedAt)}
}

// withSecret is the view of a row with the secret shown once.
func withSecret(r db.WebhookSubscription, secret string) api.WebhookSubscriptionWithSecret {
	v := subscriptionView(r)
	return api.WebhookSubscriptionWithSecret{Id: v.Id, Url: v.Url, Description: v.Description, EventTypes: v.EventTypes,
		Status: v.Status, FailingSince: v.FailingSince, DisabledAt: v.DisabledAt, PreviousSecretExpiresAt: v.PreviousSecretExpiresAt,
		CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, Secret: secret}
}

// record audits action on subscription id in q's transaction.
func record(ctx context.Context, q *db.Queries, now time.Time, action string, id int64, details map[string]any) error {
	return audit.Record(ctx, q, now, audit.Event{Action: action, SubjectType: "webhook_subscription",
		SubjectID: strconv.FormatInt(id, 10), Details: details})
}

// CreateWebhookSubscription validates the URL (egress policy) and the types, draws the secret,
// stores it sealed and returns it once.
func (s *Webhooks) CreateWebhookSubscription(ctx context.Context, req api.CreateWebhookSubscriptionRequestObject) (api.CreateWebhookSubscriptionResponseObject, error) {
	key, err := internalkeys.Caller(ctx)
	if err != nil {
		return nil, err
	}
	var f apierr.Fields
	u := s.checkURL(ctx, &f, req.Body.Url)
	types := s.checkTypes(&f, req.Body.EventTypes)
	desc := checkDescription(&f, req.Body.Description)
	if err := f.Err(); err != nil {
		return nil, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	var row db.WebhookSubscription
	err = s.st.Tx(ctx, func(q *db.Queries) error {
		id, err := q.NextWebhookSubscriptionID(ctx)
		if err != nil {
			return err
		}
		sealed, err := s.keys.Encrypt([]byte(secret), sealAAD(id))
		if err != nil {
			return err
		}
		now := s.clock.Now()
		row, err = q.InsertWebhookSubscription(ctx, db.InsertWebhookSubscriptionParams{ID: id, Url: u.String(), Description: desc,
			EventTypes: types, SecretSealed: sealed, CreatedBy: key.Name, CreatedAt: now})
		if err != nil {
			return err
		}
		return record(ctx, q, now, "webhook.subscription.created", id, map[string]any{"host": u.Host, "event_types": types})
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: create: %w", err)
	}
	return api.CreateWebhookSubscription201JSONResponse{Code: "WEBHOOK_SUBSCRIPTION_CREATED",
		Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTION_CREATED"), Data: withSecret(row, secret)}, nil
}

// ListWebhookSubscriptions pages the subscriptions, oldest first.
func (s *Webhooks) ListWebhookSubscriptions(ctx context.Context, req api.ListWebhookSubscriptionsRequestObject) (api.ListWebhookSubscriptionsResponseObject, error) {
	limit := page.Limit(req.Params.Limit, 20)
	after, err := page.After(req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Q.ListWebhookSubscriptions(ctx, db.ListWebhookSubscriptionsParams{After: after, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, fmt.Errorf("webhooks: list: %w", err)
	}
	resp := api.ListWebhookSubscriptions200JSONResponse{Code: "WEBHOOK_SUBSCRIPTIONS_OK", Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTIONS_OK"),
		Data: []api.WebhookSubscription{}}
	rows, resp.NextCursor = page.Cut(rows, limit, func(r db.WebhookSubscription) int64 { return r.ID })
	for _, r := range rows {
		resp.Data = append(resp.Data, subscriptionView(r))
	}
	return resp, nil
}

// GetWebhookSubscription reads one subscription.
func (s *Webhooks) GetWebhookSubscription(ctx context.Context, req api.GetWebhookSubscriptionRequestObject) (api.GetWebhookSubscriptionResponseObject, error) {
	r, err := s.st.Q.GetWebhookSubscription(ctx, req.Id)
	if pg.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: get: %w", err)
	}
	return api.GetWebhookSubscription200JSONResponse{Code: "WEBHOOK_SUBSCRIPTION_OK", Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTION_OK"),
		Data: subscriptionView(r)}, nil
}

// change locks subscription id and lets fn change it in one transaction; unknown is 404.
func (s *Webhooks) change(ctx context.Context, id int64, fn func(q *db.Queries, r db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error)) (db.WebhookSubscription, error) {
	var out db.WebhookSubscription
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		r, err := q.LockWebhookSubscription(ctx, id)
		if pg.IsNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = fn(q, r, s.clock.Now())
		return err
	})
	return out, err
}

// UpdateWebhookSubscription replaces the fields sent.
func (s *Webhooks) UpdateWebhookSubscription(ctx context.Context, req api.UpdateWebhookSubscriptionRequestObject) (api.UpdateWebhookSubscriptionResponseObject, error) {
	var f apierr.Fields
	var u *url.URL
	var types []string
	if req.Body.Url != nil {
		u = s.checkURL(ctx, &f, *req.Body.Url)
	}
	if req.Body.EventTypes != nil {
		types = s.checkTypes(&f, *req.Body.EventTypes)
	}
	desc := checkDescription(&f, req.Body.Description)
	if err := f.Err(); err != nil {
		return nil, err
	}
	row, err := s.change(ctx, req.Id, func(q *db.Queries, r db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error) {
		p := db.UpdateWebhookSubscriptionParams{ID: r.ID, Url: r.Url, Description: r.Description, EventTypes: r.EventTypes, Now: now}
		var changed []string
		if u != nil {
			p.Url, changed = u.String(), append(changed, "url")
		}
		if types != nil {
			p.EventTypes, changed = types, append(changed, "event_types")
		}
		if req.Body.Description != nil {
			p.Description, changed = desc, append(changed, "description")
		}
		out, err := q.UpdateWebhookSubscription(ctx, p)
		if err != nil {
			return out, err
		}
		return out, record(ctx, q, now, "webhook.subscription.updated", r.ID, map[string]any{"fields": changed})
	})
	if err != nil {
		return nil, err
	}
	return api.UpdateWebhookSubscription200JSONResponse{Code: "WEBHOOK_SUBSCRIPTION_UPDATED",
		Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTION_UPDATED"), Data: subscriptionView(row)}, nil
}

// DeleteWebhookSubscription deletes the subscription with its deliveries and log (their jobs
// find nothing to send).
func (s *Webhooks) DeleteWebhookSubscription(ctx context.Context, req api.DeleteWebhookSubscriptionRequestObject) (api.DeleteWebhookSubscriptionResponseObject, error) {
	_, err := s.change(ctx, req.Id, func(q *db.Queries, r db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error) {
		if _, err := q.DeleteWebhookSubscription(ctx, r.ID); err != nil {
			return r, err
		}
		return r, record(ctx, q, now, "webhook.subscription.deleted", r.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteWebhookSubscription200JSONResponse{Code: "WEBHOOK_SUBSCRIPTION_DELETED", Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTION_DELETED")}, nil
}

// PauseWebhookSubscription holds the subscription's deliveries until resumed.
func (s *Webhooks) PauseWebhookSubscription(ctx context.Context, req api.PauseWebhookSubscriptionRequestObject) (api.PauseWebhookSubscriptionResponseObject, error) {
	row, err := s.change(ctx, req.Id, func(q *db.Queries, r db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error) {
		if r.Status == "paused" {
			return r, nil
		}
		out, err := q.SetWebhookSubscriptionStatus(ctx, db.SetWebhookSubscriptionStatusParams{ID: r.ID, Status: "paused",
			FailingSince: r.FailingSince, DisabledAt: r.DisabledAt, Now: now})
		if err != nil {
			return out, err
		}
		return out, record(ctx, q, now, "webhook.subscription.paused", r.ID, map[string]any{"from": r.Status})
	})
	if err != nil {
		return nil, err
	}
	return api.PauseWebhookSubscription200JSONResponse{Code: "WEBHOOK_SUBSCRIPTION_PAUSED",
		Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTION_PAUSED"), Data: subscriptionView(row)}, nil
}

// ResumeWebhookSubscription makes the subscription active again, forgets its failure streak
// and queues its held deliveries in the same transaction.
func (s *Webhooks) ResumeWebhookSubscription(ctx context.Context, req api.ResumeWebhookSubscriptionRequestObject) (api.ResumeWebhookSubscriptionResponseObject, error) {
	row, err := s.change(ctx, req.Id, func(q *db.Queries, r db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error) {
		if r.Status == "active" {
			return r, nil
		}
		out, err := q.SetWebhookSubscriptionStatus(ctx, db.SetWebhookSubscriptionStatusParams{ID: r.ID, Status: "active", Now: now})
		if err != nil {
			return out, err
		}
		ids, err := q.RequeueHeldWebhookDeliveries(ctx, r.ID)
		if err != nil {
			return out, err
		}
		if err := s.enqueue(ctx, q, ids); err != nil {
			return out, err
		}
		return out, record(ctx, q, now, "webhook.subscription.resumed", r.ID, map[string]any{"from": r.Status, "requeued": len(ids)})
	})
	if err != nil {
		return nil, err
	}
	return api.ResumeWebhookSubscription200JSONResponse{Code: "WEBHOOK_SUBSCRIPTION_RESUMED",
		Message: i18n.Msg(ctx, "WEBHOOK_SUBSCRIPTION_RESUMED"), Data: subscriptionView(row)}, nil
}

// RotateWebhookSecret draws a new secret; the current one keeps signing for the overlap.
func (s *Webhooks) RotateWebhookSecret(ctx context.Context, req api.RotateWebhookSecretRequestObject) (api.RotateWebhookSecretResponseObject, error) {
	overlap := DefaultOverlap
	if req.Body != nil && req.Body.OverlapSeconds != nil {
		overlap = time.Duration(*req.Body.OverlapSeconds) * time.Second
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	row, err := s.change(ctx, req.Id, func(q *db.Queries, r db.WebhookSubscription, now time.Time) (db.WebhookSubscription, error) {
		sealed, err := s.keys.Encrypt([]byte(secret), sealAAD(r.ID))
		if err != nil {
			return r, err
		}
		p := db.RotateWebhookSecretParams{ID: r.ID, SecretSealed: sealed, Now: now}
		if overlap > 0 {
			until := now.Add(overlap)
			p.PreviousSecretSealed, p.PreviousSecretExpiresAt = r.SecretSealed, &until
		}
		out, err := q.RotateWebhookSecret(ctx, p)
		if err != nil {
			return out, err
		}
		return out, record(ctx, q, now, "webhook.secret.rotated", r.ID, map[string]any{"overlap_seconds": int64(overlap / time.Second)})
	})
	if err != nil {
		return nil, err
	}
	return api.RotateWebhookSecret200JSONResponse{Code: "WEBHOOK_SECRET_ROTATED", Message: i18n.Msg(ctx, "WEBHOOK_SECRET_ROTATED"),
		Data: withSecret(row, secret)}, nil
}

// signingSecrets opens the secrets that sign now: the current one, then the previous one while
// its overlap lasts.
func (s *Webhooks) signingSecrets(id int64, current, previous []byte, until *time.Time, now time.Time) ([]string, error) {
	cur, err := s.keys.Decrypt(current, sealAAD(id))
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	if previous != nil && until != nil && now.Before(*until) {
		prev, err := s.keys.Decrypt(previous, sealAAD(id))
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}
