package twofactor

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// EnableTwofa verifies a code against the calling token's pending secret and, in one transaction, stores the
// secret encrypted, turns 2FA on, claims the code's time step, replaces the recovery codes
// (kept hashed) and queues the notification. The recovery codes are returned once. No session
// is logged out.
func (s *TwoFactor) EnableTwofa(ctx context.Context, req api.EnableTwofaRequestObject) (api.EnableTwofaResponseObject, error) {
	p, u, err := s.caller(ctx, "twofa-enable", false)
	if err != nil {
		return nil, err
	}
	sess := session{userID: u.ID, tokenID: p.TokenID}
	pend, ok, err := s.pending.get(ctx, sess, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrEnrollmentExpired
	}
	a, err := s.begin(ctx, u, purposeEnable)
	if err != nil {
		return nil, err
	}
	defer a.end(ctx)
	now := s.clock.Now()
	st, matched := matchTOTP(pend.Secret, req.Body.Code, now)
	if !matched {
		return nil, a.fail(ctx, reasonWrong, nil)
	}
	if u.TwofaLastStep != nil && st <= *u.TwofaLastStep {
		return nil, a.fail(ctx, reasonReplayed, nil)
	}
	enc, err := s.keys.Encrypt([]byte(pend.Secret), totpAAD(u.ID))
	if err != nil {
		return nil, err
	}
	codes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = s.commitEnable(ctx, u, enc, st, codes, now)
	if errors.Is(err, errClaimLost) {
		// Either a concurrent enable won, or the step was used meanwhile.
		cur, lerr := s.loadUser(ctx, u.ID)
		if lerr != nil {
			return nil, lerr
		}
		if cur.TwofaEnabled {
			return nil, ErrAlreadyEnabled
		}
		return nil, a.fail(ctx, reasonReplayed, nil)
	}
	if err != nil {
		return nil, err
	}
	// Committed: the pending secret has served. A failure here only leaves it to expire.
	_ = s.pending.clear(context.WithoutCancel(ctx), sess)
	return api.EnableTwofa200JSONResponse{Code: "TWOFA_ENABLED", Message: i18n.Msg(ctx, "TWOFA_ENABLED"), Enabled: true, RecoveryCodes: codes}, nil
}

// commitEnable stores the encrypted secret with 2FA on and the code's step claimed, replaces the
// recovery codes, and records and announces it, in one transaction. errClaimLost: a concurrent
// enable won, or the step was used meanwhile.
func (s *TwoFactor) commitEnable(ctx context.Context, u db.GetTwofaUserRow, enc []byte, st int64, codes []string, now time.Time) error {
	return s.st.Tx(ctx, func(q *db.Queries) error {
		if _, err := q.EnableTwofa(ctx, db.EnableTwofaParams{ID: u.ID, SecretEnc: enc, Now: now, Step: st}); err != nil {
			if pg.IsNotFound(err) {
				return errClaimLost
			}
			return err
		}
		if err := s.replaceRecoveryCodes(ctx, q, u.ID, codes, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{
			Action: "twofa.enabled", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
			Details: map[string]any{"recovery_codes": len(codes)},
		}); err != nil {
			return err
		}
		if err := events.Record(ctx, q, now, events.OfUser(events.Auth2FAEnabled, u.ID, api.Auth2faEnabledEventData{RecoveryCodes: len(codes)})); err != nil {
			return err
		}
		return s.mail(ctx, q, u, "twofa_enabled", now)
	})
}

// replaceRecoveryCodes drops any previous codes and stores the hashes of the new ones.
func (s *TwoFactor) replaceRecoveryCodes(ctx context.Context, q *db.Queries, userID int64, codes []string, now time.Time) error {
	if err := q.DeleteRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	for _, c := range codes {
		canon, _ := canonicalRecovery(c)
		if err := q.InsertRecoveryCode(ctx, db.InsertRecoveryCodeParams{UserID: userID, CodeHash: s.recoveryHash(userID, canon), CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// caller is the preamble of enable, disable and step-up: the authenticated caller, within the
// per user + IP limit named limit, and their 2FA row, whose flag must be wantEnabled
// (409 TWOFA_ALREADY_ENABLED or TWOFA_NOT_ENABLED otherwise).
func (s *TwoFactor) caller(ctx context.Context, limit string, wantEnabled bool) (*reqctx.Principal, db.GetTwofaUserRow, error) {
	p := reqctx.Caller(ctx)
	if err := s.limiter.Allow(ctx, limit, s.limits.PerUserIP, ratelimit.ClientKey(ctx, strconv.FormatInt(p.UserID, 10))); err != nil {
		return nil, db.GetTwofaUserRow{}, err
	}
	u, err := s.loadUser(ctx, p.UserID)
	if err != nil {
		return nil, u, err
	}
	switch {
	case u.TwofaEnabled && !wantEnabled:
		return nil, u, ErrAlreadyEnabled
	case !u.TwofaEnabled && wantEnabled:
		return nil, u, ErrNotEnabled
	}
	return p, u, nil
}
