// Package audit writes audit events in the caller's transaction, with the request's actor,
// IP, User-Agent and request id. Details must never contain secrets or submitted values.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/ptr"
	"github.com/flowxi/backend/services/reqctx"
)

// Event is one auditable action.
type Event struct {
	Action      string // e.g. "auth.login.succeeded"
	UserID      int64  // the user concerned (0: none)
	SubjectType string
	SubjectID   string
	Details     map[string]any
}

// Record inserts ev with q (bound to the caller's transaction) at time now.
func Record(ctx context.Context, q *db.Queries, now time.Time, ev Event) error {
	info := reqctx.From(ctx)
	actorType, actorID := "anonymous", ""
	switch {
	case info.Principal != nil:
		actorType, actorID = "user", strconv.FormatInt(info.Principal.UserID, 10)
	case info.InternalKey != nil:
		actorType, actorID = "internal_key", info.InternalKey.Name
	case ev.UserID != 0:
		actorType, actorID = "user", strconv.FormatInt(ev.UserID, 10)
	}
	details := ev.Details
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit: details: %w", err)
	}
	var uid *int64
	if ev.UserID != 0 {
		uid = &ev.UserID
	}
	return q.InsertAuditEvent(ctx, db.InsertAuditEventParams{
		OccurredAt:  now,
		ActorType:   actorType,
		ActorID:     ptr.NonZero(actorID),
		Action:      ev.Action,
		SubjectType: ptr.NonZero(ev.SubjectType),
		SubjectID:   ptr.NonZero(ev.SubjectID),
		UserID:      uid,
		Ip:          ptr.NonZero(info.IP),
		UserAgent:   ptr.NonZero(info.UserAgent),
		RequestID:   ptr.NonZero(info.RequestID),
		Details:     b,
	})
}
