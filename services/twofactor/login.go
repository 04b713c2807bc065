package twofactor

import (
	"context"
	"errors"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/tokens"
)

// VerifyLogin2fa is the second step of a 2FA login. The challenge must come from the same IP
// and User-Agent (any mismatch deletes it); a wrong code counts against the challenge (5
// delete it) and against the account's failure window; a right code consumes the challenge —
// of concurrent requests exactly one wins, the others find it gone (410) — then the device
// token is issued exactly as by a password login (sessions.Complete).
func (s *TwoFactor) VerifyLogin2fa(ctx context.Context, req api.VerifyLogin2faRequestObject) (api.VerifyLogin2faResponseObject, error) {
	info := reqctx.From(ctx)
	if err := s.limiter.Allow(ctx, "twofa-verify-login", s.limits.VerifyLoginPerIP, ratelimit.ClientKey(ctx)); err != nil {
		return nil, err
	}
	id := req.Body.ChallengeId.String()
	ch, err := s.challenges.Get(ctx, id, s.clock.Now())
	if errors.Is(err, challenge.ErrNotFound) {
		return nil, ErrChallengeExpired
	}
	if err != nil {
		return nil, err
	}
	if ch.IP != info.IP || ch.UserAgent != info.UserAgent {
		return nil, s.rejectChallenge(ctx, ch, "binding_mismatch")
	}
	u, err := s.loadUser(ctx, ch.UserID)
	if err != nil {
		return nil, err
	}
	if u.Status != "active" || !u.TwofaEnabled {
		// The account changed since the password step: the challenge means nothing any more.
		return nil, s.rejectChallenge(ctx, ch, "account_changed")
	}
	a, err := s.begin(ctx, u, purposeLogin)
	if err != nil {
		return nil, err
	}
	defer a.end(ctx)
	now := s.clock.Now()
	f, reason, err := s.match(ctx, u, req.Body.Code, now)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		// A racing request with the same code may have just won (it consumes the challenge before
		// claiming the step): then this one lost the race, not the code.
		if _, gerr := s.challenges.Get(ctx, id, now); errors.Is(gerr, challenge.ErrNotFound) {
			return nil, ErrChallengeExpired
		}
		attempts, ferr := s.challenges.RecordFailure(ctx, ch)
		if ferr != nil {
			return nil, ferr
		}
		return nil, a.fail(ctx, reason, map[string]any{"challenge_attempts": attempts})
	}
	won, err := s.challenges.Consume(ctx, id)
	if err != nil {
		return nil, err
	}
	if !won {
		return nil, ErrChallengeExpired
	}
	err = s.claimLogin(ctx, u, f, ch, now)
	if errors.Is(err, errClaimLost) {
		// The same factor was spent by another flow between match and claim.
		return nil, a.fail(ctx, reasonReplayed, nil)
	}
	if err != nil {
		return nil, err
	}
	iss, err := s.sessions.Complete(ctx,
		sessions.User{ID: u.ID, Email: u.Email, Locale: u.Locale, Status: u.Status},
		tokens.Device{ID: ch.DeviceID, Type: ch.DeviceType, Name: ch.DeviceName, Country: ch.Country}, "2fa")
	if err != nil {
		return nil, err
	}
	return api.VerifyLogin2fa200JSONResponse{
		Code: "LOGIN_SUCCESS", Message: i18n.Msg(ctx, "LOGIN_SUCCESS"),
		Data: api.TokenData{AccessToken: iss.AccessToken, TokenType: "Bearer", AccountStatus: api.AccountStatus(u.Status), UserId: u.ID},
	}, nil
}

// claimLogin spends the factor and commits the trace of the right code with it, before the
// token is issued: a failure to issue cannot hide a correct second factor.
func (s *TwoFactor) claimLogin(ctx context.Context, u db.GetTwofaUserRow, f factor, ch challenge.Challenge, now time.Time) error {
	return s.st.Tx(ctx, func(q *db.Queries) error {
		if err := s.claim(ctx, q, u, f, purposeLogin, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "auth.login.second_factor_accepted", UserID: u.ID, SubjectType: "challenge", SubjectID: ch.ID,
			Details: map[string]any{"method": f.kind, "device_id": ch.DeviceID, "device_type": ch.DeviceType},
		})
	})
}

// rejectChallenge deletes a challenge that can no longer be used, audits why, and answers 410.
func (s *TwoFactor) rejectChallenge(ctx context.Context, ch challenge.Challenge, why string) error {
	if err := s.challenges.Delete(ctx, ch.ID); err != nil {
		return err
	}
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		return audit.Record(ctx, q, s.clock.Now(), audit.Event{
			Action: "twofa.challenge.rejected", UserID: ch.UserID, SubjectType: "challenge", SubjectID: ch.ID,
			Details: map[string]any{"reason": why},
		})
	})
	if err != nil {
		return err
	}
	return ErrChallengeExpired
}
