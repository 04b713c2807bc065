package twofactor

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// DisableTwofa verifies a TOTP or recovery code against the stored secret and, in one
// transaction, turns 2FA off, clears the secret and the recovery codes and queues the
// notification. No session is logged out.
func (s *TwoFactor) DisableTwofa(ctx context.Context, req api.DisableTwofaRequestObject) (api.DisableTwofaResponseObject, error) {
	_, u, err := s.caller(ctx, "twofa-disable", true)
	if err != nil {
		return nil, err
	}
	err = s.use(ctx, u, req.Body.Code, purposeDisable, func(q *db.Queries, f factor, now time.Time) error {
		if _, err := q.DisableTwofa(ctx, db.DisableTwofaParams{ID: u.ID, Now: now}); err != nil {
			if pg.IsNotFound(err) {
				return ErrNotEnabled
			}
			return err
		}
		if err := q.DeleteRecoveryCodes(ctx, u.ID); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{
			Action: "twofa.disabled", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
			Details: map[string]any{"method": f.kind},
		}); err != nil {
			return err
		}
		if err := events.Record(ctx, q, now, events.OfUser(events.Auth2FADisabled, u.ID,
			api.Auth2faDisabledEventData{Method: api.Auth2faDisabledEventDataMethod(f.kind)})); err != nil {
			return err
		}
		return s.mail(ctx, q, u, "twofa_disabled", now)
	})
	if err != nil {
		return nil, err
	}
	return api.DisableTwofa200JSONResponse{Code: "TWOFA_DISABLED", Message: i18n.Msg(ctx, "TWOFA_DISABLED"), Enabled: false}, nil
}
