package registration

import (
	"context"
	"strconv"
	"strings"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/tokens"
)

// issued is an activation's outcome.
type issued struct {
	token  string
	userID int64
}

// SetPasswordRegisterEmailCode re-validates the code under a row lock, activates the user,
// deletes the code and issues a token, all in one transaction.
func (s *Registration) SetPasswordRegisterEmailCode(ctx context.Context, r api.SetPasswordRegisterEmailCodeRequestObject) (api.SetPasswordRegisterEmailCodeResponseObject, error) {
	b := r.Body
	email, dev, err := s.checkSetPassword(ctx, string(b.Email), b.Password, b.PasswordConfirmation, b.DeviceId, b.DeviceType, b.DeviceName, b.Country)
	if err != nil {
		return nil, err
	}
	slot, err := s.reserveGuess(ctx, s.d.RegisterGuesses, email)
	if err != nil {
		return nil, err
	}
	var out issued
	err = s.tx(ctx, func(q *db.Queries, outcome *error) error {
		row, bad, err := s.checkOTP(ctx, q, email, purposeRegister, b.Code)
		if err != nil {
			return err
		}
		if bad != nil {
			*outcome = bad
			return nil
		}
		out, err = s.activate(ctx, q, row.UserID, b.Password, dev, "otp", ErrOTPExpired)
		return err
	})
	if err != nil {
		return nil, err
	}
	slot.Release(ctx)
	return api.SetPasswordRegisterEmailCode200JSONResponse(s.tokenIssued(ctx, out)), nil
}

// SetPasswordRegisterMagicLink checks the link (with its email) under a row lock, marks it
// used, activates the user and issues a token, all in one transaction.
func (s *Registration) SetPasswordRegisterMagicLink(ctx context.Context, r api.SetPasswordRegisterMagicLinkRequestObject) (api.SetPasswordRegisterMagicLinkResponseObject, error) {
	b := r.Body
	email, dev, err := s.checkSetPassword(ctx, string(b.Email), b.Password, b.PasswordConfirmation, b.DeviceId, b.DeviceType, b.DeviceName, b.Country)
	if err != nil {
		return nil, err
	}
	var out issued
	err = s.tx(ctx, func(q *db.Queries, _ *error) error {
		now := s.d.Clock.Now()
		l, err := q.LockMagicLink(ctx, secrets.SHA256Hex(b.Token))
		if pg.IsNotFound(err) {
			return ErrMagicLinkInvalid
		}
		if err != nil {
			return err
		}
		// A link for another email is treated like an unknown one: nothing is revealed.
		if !strings.EqualFold(l.Email, email) || l.UsedAt != nil || !now.Before(l.ExpiresAt) || l.Status != "pending" {
			return ErrMagicLinkInvalid
		}
		if err := q.MarkMagicLinkUsed(ctx, db.MarkMagicLinkUsedParams{ID: l.ID, UsedAt: &now}); err != nil {
			return err
		}
		out, err = s.activate(ctx, q, l.UserID, b.Password, dev, "magic_link", ErrMagicLinkInvalid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.SetPasswordRegisterMagicLink200JSONResponse(s.tokenIssued(ctx, out)), nil
}

// activate turns the pending user active with an argon2id hash of pw, removes every other
// registration secret of the user (code, unused links), issues the token (device-bound when
// dev is set) and records the activation. It runs inside the caller's transaction; gone is the
// answer when the user is no longer pending.
func (s *Registration) activate(ctx context.Context, q *db.Queries, userID int64, pw string, dev tokens.Device, method string, gone *apierr.Error) (issued, error) {
	now := s.d.Clock.Now()
	hash, err := s.d.Hasher.Hash(ctx, pw)
	if err != nil {
		return issued{}, err
	}
	u, err := q.ActivateUser(ctx, db.ActivateUserParams{ID: userID, PasswordHash: &hash, Now: now})
	if pg.IsNotFound(err) {
		return issued{}, gone
	}
	if err != nil {
		return issued{}, err
	}
	if err := q.DeleteOTP(ctx, db.DeleteOTPParams{UserID: u.ID, Purpose: purposeRegister}); err != nil {
		return issued{}, err
	}
	if err := q.DeleteUnusedMagicLinks(ctx, u.ID); err != nil {
		return issued{}, err
	}
	plain, tokenID, err := s.d.Tokens.Issue(ctx, q, u.ID, dev)
	if err != nil {
		return issued{}, err
	}
	if dev.ID != "" {
		// The registering device is known from now on: logging in from it is not a "new device".
		if _, err := q.RememberDevice(ctx, db.RememberDeviceParams{UserID: u.ID, DeviceID: dev.ID}); err != nil {
			return issued{}, err
		}
	}
	err = audit.Record(ctx, q, now, audit.Event{
		Action: "auth.registration.activated", UserID: u.ID, SubjectType: "token", SubjectID: strconv.FormatInt(tokenID, 10),
		Details: map[string]any{"method": method, "device_id": dev.ID, "device_type": dev.Type},
	})
	return issued{token: plain, userID: u.ID}, err
}

func (s *Registration) tokenIssued(ctx context.Context, out issued) api.TokenIssuedResponse {
	return api.TokenIssuedResponse{
		Code: "TOKEN_ISSUED", Message: i18n.Msg(ctx, "TOKEN_ISSUED"),
		AccessToken: out.token, TokenType: "Bearer", UserId: out.userID, AccountStatus: api.AccountStatus("active"),
	}
}
