// Package securitylog lets users read their own security events (GET /api/v1/me/security-events)
// from the audit log, with localized descriptions.
package securitylog

import (
	"context"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
	"github.com/flowxi/backend/kit/reqctx"
)

// Querier is the storage this service reads.
type Querier interface {
	ListUserSecurityEvents(ctx context.Context, arg db.ListUserSecurityEventsParams) ([]db.ListUserSecurityEventsRow, error)
}

// SecurityEvents serves the user's security events.
type SecurityEvents struct{ q Querier }

// New builds the service.
func New(q Querier) *SecurityEvents { return &SecurityEvents{q: q} }

const defaultLimit = 20

// ListSecurityEvents returns a page of the caller's events, newest first.
func (s *SecurityEvents) ListSecurityEvents(ctx context.Context, req api.ListSecurityEventsRequestObject) (api.ListSecurityEventsResponseObject, error) {
	p := reqctx.Caller(ctx)
	before, err := page.Before(req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := page.Limit(req.Params.Limit, defaultLimit)
	// One extra row tells whether another page exists.
	rows, err := s.q.ListUserSecurityEvents(ctx, db.ListUserSecurityEventsParams{UserID: &p.UserID, BeforeID: before, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, err
	}
	var next *string
	if len(rows) > limit {
		rows = rows[:limit]
		c := strconv.FormatInt(rows[len(rows)-1].ID, 10)
		next = &c
	}
	lang := i18n.Lang(ctx)
	out := make([]api.SecurityEvent, 0, len(rows))
	for _, r := range rows {
		out = append(out, api.SecurityEvent{
			Id: r.ID, Action: r.Action, Description: Describe(lang, r.Action),
			Ip: r.Ip, UserAgent: r.UserAgent, OccurredAt: apitime.Format(r.OccurredAt),
		})
	}
	return api.ListSecurityEvents200JSONResponse{Code: "SECURITY_EVENTS_OK", Message: i18n.Msg(ctx, "SECURITY_EVENTS_OK"), Data: out, NextCursor: next}, nil
}

// Describe returns the localized description of an action ("event.<action>"), or a generic one.
func Describe(lang, action string) string {
	if i18n.Has(lang, "event."+action) {
		return i18n.Text(lang, "event."+action)
	}
	return i18n.Text(lang, "event.other")
}
