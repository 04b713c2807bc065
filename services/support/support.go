// Package support implements the internal support API (tag "Internal support"): finding a
// user, seeing and ending their sessions, the four-eyes 2FA reset, and resending or expiring a
// pending registration code. Every call writes an audit row (the key's name as actor, its id as
// key_id) in the transaction of the call; every write needs a reason, audit-logged with it.
package support

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/internalkeys"
)

// DefaultApprovalWindow is how long a 2FA reset waits for its second key (SUPPORT_APPROVAL_WINDOW).
const DefaultApprovalWindow = 30 * time.Minute

// Errors of the support service.
var (
	ErrSessionNotFound = apierr.New(http.StatusNotFound, "SESSION_NOT_FOUND")
	ErrResetNotFound   = apierr.New(http.StatusNotFound, "TWOFA_RESET_NOT_FOUND")
	ErrSameKey         = apierr.New(http.StatusForbidden, "TWOFA_RESET_SAME_KEY")
	ErrResetPending    = apierr.New(http.StatusConflict, "TWOFA_RESET_PENDING")
	ErrResetNotPending = apierr.New(http.StatusConflict, "TWOFA_RESET_NOT_PENDING")
	ErrResetExpired    = apierr.New(http.StatusGone, "TWOFA_RESET_EXPIRED")
	ErrUserNotPending  = apierr.New(http.StatusConflict, "USER_NOT_PENDING")
)

// Registration is what support asks of services/registration, inside support's transaction.
type Registration interface {
	ResendPendingCode(ctx context.Context, q *db.Queries, u db.User, now time.Time) error
	ExpirePendingCodes(ctx context.Context, q *db.Queries, userID int64) error
}

// Wallets renders wallet rows as the API shows them (services/ledger).
type Wallets interface {
	ViewWallet(r db.LedgerAccount) api.Wallet
}

// Deps are the support service's dependencies.
type Deps struct {
	Store        *pg.Store
	Clock        clock.Clock
	Outbox       *mail.Outbox
	Registration Registration
	Wallets      Wallets
	// ApprovalWindow bounds the four-eyes 2FA reset (0: DefaultApprovalWindow); IdleTTL is the
	// tokens' idle lifetime (which sessions are live).
	ApprovalWindow time.Duration
	IdleTTL        time.Duration
}

// Support implements the "Internal support" operations.
type Support struct{ d Deps }

// New builds the service.
func New(d Deps) *Support {
	if d.ApprovalWindow <= 0 {
		d.ApprovalWindow = DefaultApprovalWindow
	}
	return &Support{d: d}
}

// call is one audited support call: the action, the user concerned (0: none found) and details
// beyond the key id and the reason.
type call struct {
	action  string
	userID  int64
	reason  string
	details map[string]any
}

// note adds a detail to the call's audit row.
func (c *call) note(k string, v any) {
	if c.details == nil {
		c.details = map[string]any{}
	}
	c.details[k] = v
}

// refusal is an answer that still commits the call's audit row (not found, expired…).
type refusal struct{ err *apierr.Error }

func (r refusal) Error() string { return r.err.Error() }

// refuse makes e an answer whose audit row commits.
func refuse(e *apierr.Error) error { return refusal{err: e} }

// audited runs fn in one transaction and records c in it with the calling key. A refusal from
// fn commits the audit row (with the refused code) and is answered after the commit; any other
// error rolls everything back.
func (s *Support) audited(ctx context.Context, c *call, fn func(q *db.Queries, now time.Time) error) error {
	key, err := internalkeys.Caller(ctx)
	if err != nil {
		return err
	}
	var outcome *apierr.Error
	err = s.d.Store.Tx(ctx, func(q *db.Queries) error {
		now := s.d.Clock.Now()
		details := map[string]any{"key_id": key.ID}
		var r refusal
		if err := fn(q, now); errors.As(err, &r) {
			outcome = r.err
			details["refused"] = r.err.Code
		} else if err != nil {
			return err
		}
		for k, v := range c.details {
			details[k] = v
		}
		if c.reason != "" {
			details["reason"] = c.reason
		}
		return audit.Record(ctx, q, now, audit.Event{Action: c.action, UserID: c.userID, SubjectType: "user",
			SubjectID: subjectOf(c.userID), Details: details})
	})
	if err != nil {
		return err
	}
	if outcome != nil {
		return outcome
	}
	return nil
}

// subjectOf is the audit subject id of a user (none when no user was found).
func subjectOf(userID int64) string {
	if userID == 0 {
		return ""
	}
	return strconv.FormatInt(userID, 10)
}

// writeCall validates the reason of a write and runs it audited.
func (s *Support) writeCall(ctx context.Context, rawReason string, c *call, fn func(q *db.Queries, now time.Time) error) error {
	reason, err := rules.Reason(rawReason, rules.MaxReasonRunes)
	if err != nil {
		return err
	}
	c.reason = reason
	return s.audited(ctx, c, fn)
}

// lockUser locks the user row of c: unknown is a USER_NOT_FOUND refusal.
func lockUser(ctx context.Context, q *db.Queries, c *call, id int64) (db.User, error) {
	u, err := q.GetUserByIDForUpdate(ctx, id)
	if pg.IsNotFound(err) {
		c.note("user_id", id)
		return u, refuse(apierr.ErrUserNotFound)
	}
	if err == nil {
		c.userID = u.ID
	}
	return u, err
}
