package twofactor

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
)

// VerifyTwofa is the step-up: a valid TOTP or recovery code grants the calling token a
// 5-minute window (stepup.Window) in Redis. It issues no token.
func (s *TwoFactor) VerifyTwofa(ctx context.Context, req api.VerifyTwofaRequestObject) (api.VerifyTwofaResponseObject, error) {
	p, u, err := s.caller(ctx, "twofa-verify", true)
	if err != nil {
		return nil, err
	}
	err = s.use(ctx, u, req.Body.Code, purposeStepUp, func(q *db.Queries, f factor, now time.Time) error {
		return audit.Record(ctx, q, now, audit.Event{
			Action: "twofa.stepup", UserID: u.ID, SubjectType: "token", SubjectID: strconv.FormatInt(p.TokenID, 10),
			Details: map[string]any{"method": f.kind},
		})
	})
	if err != nil {
		return nil, err
	}
	// After the commit: a window is never granted for a code that was not recorded as used.
	if err := s.grants.Grant(ctx, p.TokenID); err != nil {
		return nil, err
	}
	return api.VerifyTwofa200JSONResponse{Code: "TWOFA_VERIFIED", Message: i18n.Msg(ctx, "TWOFA_VERIFIED"), Success: true}, nil
}

// RequireStepUp is the check money-out operations call: 403 STEP_UP_REQUIRED when the user has
// 2FA and the calling token has no live step-up window; users without 2FA pass.
func (s *TwoFactor) RequireStepUp(ctx context.Context, userID, tokenID int64) error {
	on, err := s.Enabled(ctx, userID)
	if err != nil {
		return err
	}
	return s.grants.Require(ctx, tokenID, on)
}
