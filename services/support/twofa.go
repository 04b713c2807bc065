package support

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/identity/internalkeys"
	"github.com/flowxi/backend/services/twofactor"
)

// The four-eyes rule of the 2FA reset: one internal key asks (RequestTwofaReset), a different
// key approves within the approval window (ApproveTwofaReset); only the approval changes the
// user. Keys are told apart by id, which a rotation keeps, so rotating a key does not make a
// second one.

// RequestTwofaReset records a pending 2FA reset of the user for a second key to approve.
func (s *Support) RequestTwofaReset(ctx context.Context, req api.RequestTwofaResetRequestObject) (api.RequestTwofaResetResponseObject, error) {
	key, err := internalkeys.Caller(ctx)
	if err != nil {
		return nil, err
	}
	c := &call{action: "support.twofa_reset.requested"}
	var row db.SupportTwofaReset
	err = s.writeCall(ctx, req.Body.Reason, c, func(q *db.Queries, now time.Time) error {
		u, err := lockUser(ctx, q, c, req.Id)
		if err != nil {
			return err
		}
		if !u.TwofaEnabled {
			return refuse(twofactor.ErrNotEnabled)
		}
		if err := q.ExpireTwofaResets(ctx, db.ExpireTwofaResetsParams{UserID: u.ID, Now: now}); err != nil {
			return err
		}
		row, err = q.InsertTwofaReset(ctx, db.InsertTwofaResetParams{UserID: u.ID, RequestedByKey: key.ID, RequestedBy: key.Name,
			RequestReason: c.reason, Now: now, ExpiresAt: now.Add(s.d.ApprovalWindow)})
		if pg.IsNotFound(err) {
			return refuse(ErrResetPending)
		}
		c.note("reset_id", row.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.RequestTwofaReset201JSONResponse{Code: "TWOFA_RESET_REQUESTED", Message: i18n.Msg(ctx, "TWOFA_RESET_REQUESTED"), Data: resetView(row, 0)}, nil
}

// ApproveTwofaReset is the second key's approval: 2FA off, every session revoked, the user
// e-mailed, in one transaction.
func (s *Support) ApproveTwofaReset(ctx context.Context, req api.ApproveTwofaResetRequestObject) (api.ApproveTwofaResetResponseObject, error) {
	key, err := internalkeys.Caller(ctx)
	if err != nil {
		return nil, err
	}
	c := &call{action: "support.twofa_reset.approved", details: map[string]any{"reset_id": req.Id}}
	var row db.SupportTwofaReset
	var revoked int64
	err = s.writeCall(ctx, req.Body.Reason, c, func(q *db.Queries, now time.Time) error {
		r, err := s.openReset(ctx, q, c, req.Id, key.ID, now)
		if err != nil {
			return err
		}
		if revoked, err = s.resetUser(ctx, q, r.UserID, now); err != nil {
			return err
		}
		c.note("revoked_tokens", revoked)
		row, err = q.SetTwofaResetStatus(ctx, db.SetTwofaResetStatusParams{ID: r.ID, Status: "approved", ApprovedByKey: &key.ID,
			ApprovedBy: &key.Name, ApprovalReason: &c.reason, ApprovedAt: &now})
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.ApproveTwofaReset200JSONResponse{Code: "TWOFA_RESET_APPROVED", Message: i18n.Msg(ctx, "TWOFA_RESET_APPROVED"), Data: resetView(row, revoked)}, nil
}

// openReset locks the request and checks it may be approved by keyID now: unknown, already
// approved, the requesting key, or past its window (then marked expired) are refusals.
func (s *Support) openReset(ctx context.Context, q *db.Queries, c *call, id, keyID int64, now time.Time) (db.SupportTwofaReset, error) {
	r, err := q.GetTwofaResetForUpdate(ctx, id)
	if pg.IsNotFound(err) {
		return r, refuse(ErrResetNotFound)
	}
	if err != nil {
		return r, err
	}
	c.userID = r.UserID
	switch {
	case r.Status == "expired":
		return r, refuse(ErrResetExpired)
	case r.Status != "pending":
		return r, refuse(ErrResetNotPending)
	case r.RequestedByKey == keyID:
		return r, refuse(ErrSameKey)
	case !now.Before(r.ExpiresAt):
		if _, err := q.SetTwofaResetStatus(ctx, db.SetTwofaResetStatusParams{ID: r.ID, Status: "expired"}); err != nil {
			return r, err
		}
		return r, refuse(ErrResetExpired)
	}
	return r, nil
}

// resetUser (before anything else is written) turns the user's 2FA off (secret and recovery codes gone), revokes every token,
// records the event auth.2fa_disabled (method support) and e-mails the user in their language; it returns how many tokens
// were revoked.
func (s *Support) resetUser(ctx context.Context, q *db.Queries, userID int64, now time.Time) (int64, error) {
	u, err := q.GetUserByIDForUpdate(ctx, userID)
	if err != nil {
		return 0, err
	}
	if !u.TwofaEnabled { // turned off since the request: nothing is written
		return 0, refuse(twofactor.ErrNotEnabled)
	}
	if _, err := q.DisableTwofa(ctx, db.DisableTwofaParams{ID: u.ID, Now: now}); err != nil {
		return 0, err
	}
	if err := q.DeleteRecoveryCodes(ctx, u.ID); err != nil {
		return 0, err
	}
	n, err := q.RevokeAllUserTokens(ctx, db.RevokeAllUserTokensParams{UserID: u.ID, RevokedAt: &now})
	if err != nil {
		return 0, err
	}
	if err := audit.Record(ctx, q, now, audit.Event{Action: "twofa.reset", UserID: u.ID, SubjectType: "user",
		SubjectID: strconv.FormatInt(u.ID, 10), Details: map[string]any{"method": "support"}}); err != nil {
		return 0, err
	}
	if err := events.Record(ctx, q, now, events.OfUser(events.Auth2FADisabled, u.ID,
		api.Auth2faDisabledEventData{Method: api.Auth2faDisabledEventDataMethodSupport})); err != nil {
		return 0, err
	}
	_, err = s.d.Outbox.Enqueue(ctx, q, now, mail.Message{To: u.Email, Template: "twofa_reset", Locale: u.Locale,
		Data: map[string]any{"Time": mail.Time(now)}})
	return n, err
}

func resetView(r db.SupportTwofaReset, revoked int64) api.TwofaReset {
	return api.TwofaReset{Id: r.ID, UserId: r.UserID, Status: api.TwofaResetStatus(r.Status), RequestedBy: r.RequestedBy,
		RequestReason: r.RequestReason, RequestedAt: apitime.Format(r.RequestedAt), ExpiresAt: apitime.Format(r.ExpiresAt),
		ApprovedBy: r.ApprovedBy, ApprovalReason: r.ApprovalReason, ApprovedAt: apitime.FormatPtr(r.ApprovedAt), RevokedTokens: int(revoked)}
}
