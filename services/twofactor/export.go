package twofactor

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/audit"
)

// Enabled reports whether the user has 2FA on (password reset asks for a second factor then).
func (s *TwoFactor) Enabled(ctx context.Context, userID int64) (bool, error) {
	u, err := s.loadUser(ctx, userID)
	if err != nil {
		return false, err
	}
	return u.TwofaEnabled, nil
}

// Verify checks a TOTP or recovery code of the user for another flow (password reset) with the
// same replay protection and per-account failure counting as the 2FA endpoints. A missing,
// wrong or replayed code is 403 INVALID_2FA_CODE (an empty code is refused without counting a
// failure); a user without 2FA is 409 TWOFA_NOT_ENABLED. A code that passes is spent, so call
// it after the caller's own checks.
func (s *TwoFactor) Verify(ctx context.Context, userID int64, code string) error {
	if code == "" {
		return ErrInvalidCode
	}
	u, err := s.loadUser(ctx, userID)
	if err != nil {
		return err
	}
	if !u.TwofaEnabled {
		return ErrNotEnabled
	}
	return s.use(ctx, u, code, purposeReset, func(q *db.Queries, f factor, now time.Time) error {
		return audit.Record(ctx, q, now, audit.Event{
			Action: "twofa.verified", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
			Details: map[string]any{"purpose": purposeReset, "method": f.kind},
		})
	})
}
