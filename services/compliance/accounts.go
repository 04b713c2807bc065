package compliance

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// userTransitions is the table of account status moves made here (DESIGN §4): block is
// reversible, closure is final.
var userTransitions = map[string]map[string]bool{
	"pending": {"closed": true},
	"active":  {"blocked": true, "closed": true},
	"blocked": {"active": true, "closed": true},
}

// statusEvents is the event of each status setStatus moves a user to.
var statusEvents = map[string]events.Type{"blocked": events.UserBlocked, "active": events.UserUnblocked, "closed": events.UserClosed}

// lockUser locks the user row; unknown is 404 USER_NOT_FOUND.
func lockUser(ctx context.Context, q *db.Queries, id int64) (db.User, error) {
	u, err := q.GetUserByIDForUpdate(ctx, id)
	if pg.IsNotFound(err) {
		return u, apierr.ErrUserNotFound
	}
	return u, err
}

// RestrictUser adds an active restriction: no outgoing money, everything else intact.
func (s *Compliance) RestrictUser(ctx context.Context, req api.RestrictUserRequestObject) (api.RestrictUserResponseObject, error) {
	r, err := s.changeRestriction(ctx, req.Id, req.Body.Reason, "compliance.restriction.added", events.UserRestricted,
		func(q *db.Queries, u db.User, reason, by string, now time.Time) (db.ComplianceRestriction, error) {
			if u.Status == "closed" {
				return db.ComplianceRestriction{}, ErrInvalidTransition
			}
			r, err := q.InsertRestriction(ctx, db.InsertRestrictionParams{UserID: u.ID, Reason: reason, CreatedBy: by, CreatedAt: now})
			if err != nil {
				return r, err
			}
			return r, s.notify(ctx, q, u, "account_restricted", nil)
		})
	if err != nil {
		return nil, err
	}
	return api.RestrictUser201JSONResponse{Code: "USER_RESTRICTED", Message: i18n.Msg(ctx, "USER_RESTRICTED"), Data: r}, nil
}

// LiftRestriction lifts one active restriction of the user.
func (s *Compliance) LiftRestriction(ctx context.Context, req api.LiftRestrictionRequestObject) (api.LiftRestrictionResponseObject, error) {
	r, err := s.changeRestriction(ctx, req.Id, req.Body.Reason, "compliance.restriction.lifted", events.UserRestrictionLifted,
		func(q *db.Queries, u db.User, reason, by string, now time.Time) (db.ComplianceRestriction, error) {
			r, err := q.LiftRestriction(ctx, db.LiftRestrictionParams{ID: req.RestrictionId, UserID: u.ID, Now: now, LiftedBy: &by, LiftReason: &reason})
			if pg.IsNotFound(err) {
				return r, ErrRestrictionMissing
			}
			return r, err
		})
	if err != nil {
		return nil, err
	}
	return api.LiftRestriction200JSONResponse{Code: "RESTRICTION_LIFTED", Message: i18n.Msg(ctx, "RESTRICTION_LIFTED"), Data: r}, nil
}

// changeRestriction is what adding and lifting a restriction share: the reason's rule, then one
// transaction that locks the user, lets change write the restriction and records action (and the
// event ev) on it.
func (s *Compliance) changeRestriction(ctx context.Context, userID int64, rawReason, action string, ev events.Type,
	change func(q *db.Queries, u db.User, reason, by string, now time.Time) (db.ComplianceRestriction, error)) (api.Restriction, error) {
	reason, err := rules.Reason(rawReason, rules.MaxReasonRunes)
	if err != nil {
		return api.Restriction{}, err
	}
	_, by := actor(ctx)
	var r db.ComplianceRestriction
	err = s.st.Tx(ctx, func(q *db.Queries) error {
		u, err := lockUser(ctx, q, userID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if r, err = change(q, u, reason, by, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{Action: action, UserID: u.ID,
			SubjectType: "compliance_restriction", SubjectID: strconv.FormatInt(r.ID, 10), Details: map[string]any{"reason": reason}}); err != nil {
			return err
		}
		return events.Record(ctx, q, now, events.OfUser(ev, u.ID, api.UserRestrictionEventData{RestrictionId: r.ID, Reason: reason}))
	})
	if err != nil {
		return api.Restriction{}, err
	}
	return restrictionView(r), nil
}

func restrictionView(r db.ComplianceRestriction) api.Restriction {
	return api.Restriction{Id: r.ID, UserId: r.UserID, Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: apitime.Format(r.CreatedAt),
		LiftedAt: apitime.FormatPtr(r.LiftedAt), LiftedBy: r.LiftedBy, LiftReason: r.LiftReason}
}

// BlockUser blocks an active user and revokes every token in the same transaction.
func (s *Compliance) BlockUser(ctx context.Context, req api.BlockUserRequestObject) (api.BlockUserResponseObject, error) {
	d, err := s.setStatus(ctx, req.Id, req.Body.Reason, "blocked", "compliance.user.blocked", nil)
	if err != nil {
		return nil, err
	}
	return api.BlockUser200JSONResponse{Code: "USER_BLOCKED", Message: i18n.Msg(ctx, "USER_BLOCKED"), Data: d}, nil
}

// UnblockUser makes a blocked user active again (their old tokens stay revoked).
func (s *Compliance) UnblockUser(ctx context.Context, req api.UnblockUserRequestObject) (api.UnblockUserResponseObject, error) {
	d, err := s.setStatus(ctx, req.Id, req.Body.Reason, "active", "compliance.user.unblocked", nil)
	if err != nil {
		return nil, err
	}
	return api.UnblockUser200JSONResponse{Code: "USER_UNBLOCKED", Message: i18n.Msg(ctx, "USER_UNBLOCKED"), Data: d}, nil
}

// userStatusData is the data of the block, unblock and close answers.
type userStatusData = struct {
	RevokedTokens int               `json:"revoked_tokens"`
	Status        api.AccountStatus `json:"status"`
	UserId        int64             `json:"user_id"`
}

// setStatus moves a locked user through userTransitions; before runs inside the transaction
// after the check (closure's wallet checks). Leaving `active` revokes every token.
func (s *Compliance) setStatus(ctx context.Context, id int64, rawReason, to, action string,
	before func(q *db.Queries, u db.User) error) (userStatusData, error) {
	reason, err := rules.Reason(rawReason, rules.MaxReasonRunes)
	if err != nil {
		return userStatusData{}, err
	}
	var out userStatusData
	err = s.st.Tx(ctx, func(q *db.Queries) error {
		u, err := lockUser(ctx, q, id)
		if err != nil {
			return err
		}
		if !userTransitions[u.Status][to] {
			return ErrInvalidTransition
		}
		if before != nil {
			if err := before(q, u); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		if _, err := q.SetUserStatus(ctx, db.SetUserStatusParams{ID: id, Status: to, UpdatedAt: now}); err != nil {
			return err
		}
		revoked := int64(0)
		if to != "active" {
			if revoked, err = q.RevokeAllUserTokens(ctx, db.RevokeAllUserTokensParams{UserID: id, RevokedAt: &now}); err != nil {
				return err
			}
		}
		out = userStatusData{UserId: id, Status: api.AccountStatus(to), RevokedTokens: int(revoked)}
		if err := audit.Record(ctx, q, now, audit.Event{Action: action, UserID: id, SubjectType: "user", SubjectID: strconv.FormatInt(id, 10),
			Details: map[string]any{"from": u.Status, "to": to, "reason": reason, "revoked_tokens": revoked}}); err != nil {
			return err
		}
		return events.Record(ctx, q, now, events.OfUser(statusEvents[to], id, api.UserStatusEventData{
			FromStatus: api.AccountStatus(u.Status), Status: api.AccountStatus(to), Reason: reason, RevokedTokens: revoked}))
	})
	return out, err
}
