package compliance

import (
	"context"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// Case statuses (DESIGN §6).
const (
	StatusNotStarted    = "not_started"
	StatusSubmitted     = "submitted"
	StatusUnderReview   = "under_review"
	StatusApproved      = "approved"
	StatusRejected      = "rejected"
	StatusInfoRequested = "info_requested"
)

// Statuses lists every case status.
var Statuses = []string{StatusNotStarted, StatusSubmitted, StatusUnderReview, StatusApproved, StatusRejected, StatusInfoRequested}

// transitions is THE transition table: from → the statuses it may move to. Nothing else in the
// package decides whether a case may change status. approved and rejected are final.
var transitions = map[string]map[string]bool{
	StatusNotStarted:    {StatusSubmitted: true},
	StatusSubmitted:     {StatusUnderReview: true},
	StatusUnderReview:   {StatusApproved: true, StatusRejected: true, StatusInfoRequested: true},
	StatusInfoRequested: {StatusSubmitted: true},
}

// Allowed reports whether a case may move from one status to another.
func Allowed(from, to string) bool { return transitions[from][to] }

// editable reports whether the user may change a case's data and documents: only before it is
// first submitted or when the reviewer asked for more.
func editable(status string) bool {
	return status == StatusNotStarted || status == StatusInfoRequested
}

// transition moves c (locked FOR UPDATE by the caller, inside q's transaction) to `to`, or
// returns 409 INVALID_STATE_TRANSITION. It persists the move in the case history with the
// request's actor, the reason and the time, and records the audit event, all in the caller's
// transaction.
func (s *Compliance) transition(ctx context.Context, q *db.Queries, c db.ComplianceCase, to string, reason *string) (db.ComplianceCase, error) {
	if !Allowed(c.Status, to) {
		return c, ErrInvalidTransition
	}
	now := s.clock.Now()
	// The reviewer's message is kept on the case while it means something to the user.
	var keep *string
	if to == StatusRejected || to == StatusInfoRequested {
		keep = reason
	}
	next, err := q.SetComplianceCaseStatus(ctx, db.SetComplianceCaseStatusParams{ID: c.ID, Status: to, DecisionReason: keep, Now: now})
	if err != nil {
		return c, err
	}
	actorType, actorID := actor(ctx)
	if err := q.InsertComplianceCaseHistory(ctx, db.InsertComplianceCaseHistoryParams{
		CaseID: c.ID, FromStatus: c.Status, ToStatus: to, ActorType: actorType, ActorID: actorID, Reason: reason, OccurredAt: now,
	}); err != nil {
		return c, err
	}
	action := "compliance." + c.Kind + "." + to
	if err := audit.Record(ctx, q, now, audit.Event{
		Action: action, UserID: c.UserID, SubjectType: "compliance_case", SubjectID: strconv.FormatInt(c.ID, 10),
		Details: map[string]any{"from": c.Status, "to": to, "has_reason": reason != nil},
	}); err != nil {
		return c, err
	}
	if ev, ok := caseEvent(c, to, reason); ok {
		return next, events.Record(ctx, q, now, ev)
	}
	return next, nil
}

// caseEvent is the event of a case moving to `to`: submitted, or decided (approved, rejected,
// info_requested); a review started has none.
func caseEvent(c db.ComplianceCase, to string, reason *string) (events.Event, bool) {
	ev := events.Event{SubjectType: events.SubjectComplianceCase, SubjectID: strconv.FormatInt(c.ID, 10), UserID: c.UserID}
	switch to {
	case StatusSubmitted:
		ev.Type, ev.Data = events.ComplianceCaseSubmitted, api.ComplianceCaseSubmittedEventData{CaseId: c.ID, Kind: api.CaseKind(c.Kind)}
	case StatusApproved, StatusRejected, StatusInfoRequested:
		ev.Type, ev.Data = events.ComplianceCaseDecided, api.ComplianceCaseDecidedEventData{CaseId: c.ID, Kind: api.CaseKind(c.Kind),
			Decision: api.ComplianceCaseDecidedEventDataDecision(to), Reason: reason}
	default:
		return ev, false
	}
	return ev, true
}

// actor names who acts in this request: the internal key's name, or the user's id.
func actor(ctx context.Context) (string, string) {
	info := reqctx.From(ctx)
	if info.InternalKey != nil {
		return "internal_key", info.InternalKey.Name
	}
	if info.Principal != nil {
		return "user", strconv.FormatInt(info.Principal.UserID, 10)
	}
	return "internal_key", "system"
}
