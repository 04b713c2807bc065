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
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/reqctx"
)

// Event is one auditable action.
type Event struct {
	Action      string // e.g. "auth.login.succeeded"
	UserID      int64  // the user concerned (0: none)
	SubjectType string
	SubjectID   string
	Details     map[string]any
	// System marks an action the platform takes by itself (a worker), not on a request.
	System bool
}

// Row is an audit row as stored: the shape every writer shares, whether it inserts one row
// (Record) or many in one statement (the ledger's batch).
type Row struct {
	ActorType, ActorID                string // "" stands for NULL
	Action, SubjectType, SubjectID    string
	UserID                            int64 // 0 stands for NULL
	IP, UserAgent, RequestID, Details string
}

// Build makes ev's row with the request's actor, IP, User-Agent and request id; details is the
// JSON object of ev.Details (callers that build it themselves pass it, and leave ev.Details nil).
// The actor is the authenticated user, else the internal key, else the system for a worker's
// action, else the user concerned (an anonymous request about them: a login), else anonymous.
func Build(ctx context.Context, ev Event, details []byte) Row {
	info := reqctx.From(ctx)
	r := Row{ActorType: "anonymous", Action: ev.Action, SubjectType: ev.SubjectType, SubjectID: ev.SubjectID, UserID: ev.UserID,
		IP: info.IP, UserAgent: info.StoredUserAgent(), RequestID: info.RequestID, Details: string(details)}
	switch {
	case info.Principal != nil:
		r.ActorType, r.ActorID = "user", strconv.FormatInt(info.Principal.UserID, 10)
	case info.InternalKey != nil:
		r.ActorType, r.ActorID = "internal_key", info.InternalKey.Name
	case ev.System:
		r.ActorType = "system"
	case ev.UserID != 0:
		r.ActorType, r.ActorID = "user", strconv.FormatInt(ev.UserID, 10)
	}
	return r
}

// Record inserts ev with q (bound to the caller's transaction) at time now.
func Record(ctx context.Context, q *db.Queries, now time.Time, ev Event) error {
	details := ev.Details
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit: details: %w", err)
	}
	r := Build(ctx, ev, b)
	var uid *int64
	if r.UserID != 0 {
		uid = &r.UserID
	}
	return q.InsertAuditEvent(ctx, db.InsertAuditEventParams{
		OccurredAt:  now,
		ActorType:   r.ActorType,
		ActorID:     ptr.NonZero(r.ActorID),
		Action:      r.Action,
		SubjectType: ptr.NonZero(r.SubjectType),
		SubjectID:   ptr.NonZero(r.SubjectID),
		UserID:      uid,
		Ip:          ptr.NonZero(r.IP),
		UserAgent:   ptr.NonZero(r.UserAgent),
		RequestID:   ptr.NonZero(r.RequestID),
		Details:     b,
	})
}
