package support

import (
	"context"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
)

// ListSupportUserSessions lists the user's live sessions, newest use first.
func (s *Support) ListSupportUserSessions(ctx context.Context, req api.ListSupportUserSessionsRequestObject) (api.ListSupportUserSessionsResponseObject, error) {
	c := &call{action: "support.sessions.viewed"}
	out := []api.SupportSession{}
	err := s.audited(ctx, c, func(q *db.Queries, now time.Time) error {
		if _, err := lockUser(ctx, q, c, req.Id); err != nil {
			return err
		}
		rows, err := q.ListUserLiveSessions(ctx, db.ListUserLiveSessionsParams{UserID: req.Id, Now: now, IdleCutoff: now.Add(-s.d.IdleTTL)})
		for _, r := range rows {
			out = append(out, api.SupportSession{Id: r.ID, DeviceId: r.DeviceID, DeviceType: r.DeviceType, DeviceName: r.DeviceName,
				Country: r.Country, Ip: r.Ip, UserAgent: r.UserAgent, CreatedAt: apitime.Format(r.CreatedAt),
				LastUsedAt: apitime.FormatPtr(r.LastUsedAt), ExpiresAt: apitime.Format(r.ExpiresAt)})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.ListSupportUserSessions200JSONResponse{Code: "SUPPORT_SESSIONS_OK", Message: i18n.Msg(ctx, "SUPPORT_SESSIONS_OK"), Data: out}, nil
}

// RevokeSupportUserSessions revokes every token of the user: the next request with any of them
// is refused on every instance (tokens are read from PostgreSQL on each request).
func (s *Support) RevokeSupportUserSessions(ctx context.Context, req api.RevokeSupportUserSessionsRequestObject) (api.RevokeSupportUserSessionsResponseObject, error) {
	c := &call{action: "support.sessions.revoked"}
	var n int64
	err := s.writeCall(ctx, req.Body.Reason, c, func(q *db.Queries, now time.Time) error {
		if _, err := lockUser(ctx, q, c, req.Id); err != nil {
			return err
		}
		var err error
		n, err = q.RevokeAllUserTokens(ctx, db.RevokeAllUserTokensParams{UserID: req.Id, RevokedAt: &now})
		c.note("revoked_tokens", n)
		return err
	})
	if err != nil {
		return nil, err
	}
	r := api.RevokeSupportUserSessions200JSONResponse{Code: "SESSIONS_REVOKED", Message: i18n.Msg(ctx, "SESSIONS_REVOKED")}
	r.Data.UserId, r.Data.RevokedTokens = req.Id, int(n)
	return r, nil
}

// RevokeSupportUserSession revokes one token of the user.
func (s *Support) RevokeSupportUserSession(ctx context.Context, req api.RevokeSupportUserSessionRequestObject) (api.RevokeSupportUserSessionResponseObject, error) {
	c := &call{action: "support.session.revoked", details: map[string]any{"token_id": req.SessionId}}
	err := s.writeCall(ctx, req.Body.Reason, c, func(q *db.Queries, now time.Time) error {
		if _, err := lockUser(ctx, q, c, req.Id); err != nil {
			return err
		}
		n, err := q.RevokeUserSession(ctx, db.RevokeUserSessionParams{ID: req.SessionId, UserID: req.Id, Now: now})
		if err == nil && n == 0 {
			return refuse(ErrSessionNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	r := api.RevokeSupportUserSession200JSONResponse{Code: "SESSION_REVOKED", Message: i18n.Msg(ctx, "SESSION_REVOKED")}
	r.Data.UserId, r.Data.RevokedTokens = req.Id, 1
	return r, nil
}
