// Package sessions completes a login: the device-bound token, the new-device e-mail and the
// audit event, in one transaction. Password logins and 2FA verify-login share it, so both give
// exactly the same one-token-per-device guarantee.
package sessions

import (
	"context"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/identity/tokens"
)

// User is the account being logged in.
type User struct {
	ID     int64
	Email  string
	Locale string
	Status string
}

// Issued is the token shown once to the client.
type Issued struct {
	AccessToken string
	TokenID     int64
}

// Sessions completes logins.
type Sessions struct {
	st     *pg.Store
	tokens *tokens.Service
	outbox *mail.Outbox
	clock  clock.Clock
}

// New builds the service.
func New(st *pg.Store, t *tokens.Service, o *mail.Outbox, c clock.Clock) *Sessions {
	return &Sessions{st: st, tokens: t, outbox: o, clock: c}
}

// Complete issues the device-bound token for u (revoking the device's previous one), e-mails the
// owner when the device was never seen for this user, and records the login, all committed
// together. method is "password" or "2fa".
func (s *Sessions) Complete(ctx context.Context, u User, dev tokens.Device, method string) (Issued, error) {
	var out Issued
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		now := s.clock.Now()
		plain, id, err := s.tokens.Issue(ctx, q, u.ID, dev)
		if err != nil {
			return err
		}
		out = Issued{AccessToken: plain, TokenID: id}
		if dev.ID != "" {
			isNew, err := q.RememberDevice(ctx, db.RememberDeviceParams{UserID: u.ID, DeviceID: dev.ID})
			if err != nil {
				return err
			}
			if isNew == 1 {
				info := reqctx.From(ctx)
				if _, err := s.outbox.Enqueue(ctx, q, now, mail.Message{
					To: u.Email, Template: "new_device", Locale: i18n.ForUser(ctx, u.Locale),
					Data: map[string]any{"DeviceName": dev.Name, "DeviceType": dev.Type, "IP": info.IP, "Time": mail.Time(now)},
				}); err != nil {
					return err
				}
				if err := events.Record(ctx, q, now, events.OfUser(events.AuthNewDevice, u.ID, api.AuthNewDeviceEventData{
					DeviceId: dev.ID, DeviceType: dev.Type, DeviceName: dev.Name, Ip: ptr.NonZero(info.IP),
					Method: api.AuthNewDeviceEventDataMethod(method)})); err != nil {
					return err
				}
			}
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "auth.login.succeeded", UserID: u.ID, SubjectType: "token", SubjectID: strconv.FormatInt(id, 10),
			Details: map[string]any{"device_id": dev.ID, "device_type": dev.Type, "method": method},
		})
	})
	return out, err
}
