package identity

import (
	"context"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
)

// Logout revokes the calling token only, and its step-up window.
func (s *Identity) Logout(ctx context.Context, _ api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	p := reqctx.Caller(ctx)
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		now := s.clock.Now()
		n, err := q.RevokeCurrentToken(ctx, db.RevokeCurrentTokenParams{Now: now, ID: p.TokenID, UserID: p.UserID})
		if err != nil {
			return err
		}
		if n == 0 {
			// Revoked by a concurrent request since authentication: the session is gone.
			return apierr.ErrUnauthenticated
		}
		if err := s.closeStepUps(ctx, []int64{p.TokenID}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "auth.logout", UserID: p.UserID, SubjectType: "token", SubjectID: strconv.FormatInt(p.TokenID, 10),
			Details: map[string]any{"device_id": p.DeviceID},
		})
	})
	if err != nil {
		return nil, err
	}
	return api.Logout200JSONResponse{Code: "LOGOUT_SUCCESS", Message: i18n.Msg(ctx, "LOGOUT_SUCCESS")}, nil
}

// LogoutOthers revokes every token of the user except the calling one; data.revoked counts
// the sessions that were still usable (already expired ones are revoked too, uncounted).
func (s *Identity) LogoutOthers(ctx context.Context, _ api.LogoutOthersRequestObject) (api.LogoutOthersResponseObject, error) {
	p := reqctx.Caller(ctx)
	live := 0
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		now := s.clock.Now()
		rows, err := q.RevokeOtherTokens(ctx, db.RevokeOtherTokensParams{Now: now, UserID: p.UserID, KeepID: p.TokenID, IdleCutoff: now.Add(-s.idle)})
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(rows))
		live = 0
		for _, r := range rows {
			ids = append(ids, r.ID)
			if r.Live {
				live++
			}
		}
		if err := s.closeStepUps(ctx, ids); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "auth.logout_others", UserID: p.UserID, SubjectType: "token", SubjectID: strconv.FormatInt(p.TokenID, 10),
			Details: map[string]any{"revoked": live, "kept_device_id": p.DeviceID},
		})
	})
	if err != nil {
		return nil, err
	}
	resp := api.LogoutOthers200JSONResponse{Code: "LOGOUT_OTHERS_SUCCESS", Message: i18n.Msg(ctx, "LOGOUT_OTHERS_SUCCESS")}
	resp.Data.Revoked = live
	return resp, nil
}
