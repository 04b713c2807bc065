package identity

import (
	"context"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
)

// ListDevices lists the caller's live device-bound tokens, newest use first, marking the
// calling one. Revoked, expired, idle and legacy (device-less) tokens are left out.
func (s *Identity) ListDevices(ctx context.Context, _ api.ListDevicesRequestObject) (api.ListDevicesResponseObject, error) {
	p := reqctx.Caller(ctx)
	now := s.clock.Now()
	rows, err := s.st.Q.ListActiveDevices(ctx, db.ListActiveDevicesParams{UserID: p.UserID, Now: now, IdleCutoff: now.Add(-s.idle)})
	if err != nil {
		return nil, err
	}
	out := make([]api.Device, 0, len(rows))
	for _, r := range rows {
		d := api.Device{
			DeviceId:   ptr.Value(r.DeviceID),
			DeviceType: ptr.Value(r.DeviceType),
			DeviceName: ptr.Value(r.DeviceName),
			Country:    r.Country,
			Ip:         r.Ip,
			CreatedAt:  apitime.Format(r.CreatedAt),
			LastUsedAt: apitime.FormatPtr(r.LastUsedAt),
			Current:    r.ID == p.TokenID,
		}
		out = append(out, d)
	}
	return api.ListDevices200JSONResponse{Code: "DEVICES_OK", Message: i18n.Msg(ctx, "DEVICES_OK"), Data: out}, nil
}

// LogoutDevice revokes the live token of one of the caller's devices (the calling device
// included); 404 DEVICE_NOT_FOUND when there is none.
func (s *Identity) LogoutDevice(ctx context.Context, request api.LogoutDeviceRequestObject) (api.LogoutDeviceResponseObject, error) {
	p := reqctx.Caller(ctx)
	deviceID := request.Body.DeviceId
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		now := s.clock.Now()
		ids, err := q.RevokeLiveDeviceToken(ctx, db.RevokeLiveDeviceTokenParams{Now: now, UserID: p.UserID, DeviceID: deviceID, IdleCutoff: now.Add(-s.idle)})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrDeviceNotFound
		}
		if err := s.closeStepUps(ctx, ids); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "auth.device.revoked", UserID: p.UserID, SubjectType: "token", SubjectID: strconv.FormatInt(ids[0], 10),
			Details: map[string]any{"device_id": deviceID, "current": deviceID == p.DeviceID},
		})
	})
	if err != nil {
		return nil, err
	}
	return api.LogoutDevice200JSONResponse{Code: "LOGOUT_SUCCESS", Message: i18n.Msg(ctx, "LOGOUT_SUCCESS")}, nil
}

// closeStepUps deletes the step-up windows of revoked tokens. It runs inside the revoking
// transaction, before the commit: if Redis fails nothing is revoked (the client retries); if
// the commit fails afterwards, the only loss is a 5-minute window the user can reopen.
func (s *Identity) closeStepUps(ctx context.Context, tokenIDs []int64) error {
	for _, id := range tokenIDs {
		if err := s.stepup.Revoke(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
