package registration

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
)

// SendRegisterEmailCode creates (or reuses) the pending user and e-mails a 6-digit code.
func (s *Registration) SendRegisterEmailCode(ctx context.Context, r api.SendRegisterEmailCodeRequestObject) (api.SendRegisterEmailCodeResponseObject, error) {
	if err := s.sendCode(ctx, string(r.Body.Email), ErrEmailUsed); err != nil {
		return nil, err
	}
	return api.SendRegisterEmailCode200JSONResponse{Code: "OTP_SENT", Message: i18n.Msg(ctx, "OTP_SENT")}, nil
}

// ResendRegisterEmailCode replaces the code with a new one (60 s after the previous one).
func (s *Registration) ResendRegisterEmailCode(ctx context.Context, r api.ResendRegisterEmailCodeRequestObject) (api.ResendRegisterEmailCodeResponseObject, error) {
	if err := s.sendCode(ctx, string(r.Body.Email), ErrEmailActive); err != nil {
		return nil, err
	}
	return api.ResendRegisterEmailCode200JSONResponse{Code: "OTP_SENT", Message: i18n.Msg(ctx, "OTP_SENT")}, nil
}

// RegisterEmail creates (or reuses) the pending user and e-mails a magic link.
func (s *Registration) RegisterEmail(ctx context.Context, r api.RegisterEmailRequestObject) (api.RegisterEmailResponseObject, error) {
	if err := s.sendLink(ctx, string(r.Body.Email), ErrEmailUsed); err != nil {
		return nil, err
	}
	return api.RegisterEmail200JSONResponse{Code: "MAGIC_LINK_SENT", Message: i18n.Msg(ctx, "MAGIC_LINK_SENT")}, nil
}

// ResendRegisterEmail replaces the magic link with a new one (60 s after the previous one).
func (s *Registration) ResendRegisterEmail(ctx context.Context, r api.ResendRegisterEmailRequestObject) (api.ResendRegisterEmailResponseObject, error) {
	if err := s.sendLink(ctx, string(r.Body.Email), ErrEmailActive); err != nil {
		return nil, err
	}
	return api.ResendRegisterEmail200JSONResponse{Code: "MAGIC_LINK_SENT", Message: i18n.Msg(ctx, "MAGIC_LINK_SENT")}, nil
}

// sendCode writes a new registration code and its e-mail. taken is the answer for an email
// whose account is no longer pending.
func (s *Registration) sendCode(ctx context.Context, rawEmail string, taken *apierr.Error) error {
	return s.send(ctx, rawEmail, taken, codeSend, func(q *db.Queries, u db.User, _ string, now time.Time) (map[string]any, error) {
		return s.freshCode(ctx, q, u.ID, now)
	})
}

// freshCode replaces the user's registration code with a new one (refused within the cooldown
// of the previous one) and returns the data of its e-mail.
func (s *Registration) freshCode(ctx context.Context, q *db.Queries, userID int64, now time.Time) (map[string]any, error) {
	live, err := q.GetOTP(ctx, db.GetOTPParams{UserID: userID, Purpose: purposeRegister, Now: now, MaxAttempts: OTPMaxAttempts})
	if err == nil {
		if err := cooldown(live.CreatedAt, now); err != nil {
			return nil, err
		}
	} else if !pg.IsNotFound(err) {
		return nil, err
	}
	code, err := s.newOTP(ctx, q, userID, purposeRegister, now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Code": code, "Minutes": int(OTPTTL / time.Minute)}, nil
}

// sendLink writes a new magic link (replacing unused ones) and its e-mail.
func (s *Registration) sendLink(ctx context.Context, rawEmail string, taken *apierr.Error) error {
	return s.send(ctx, rawEmail, taken, linkSend, func(q *db.Queries, u db.User, email string, now time.Time) (map[string]any, error) {
		last, err := q.LastMagicLinkAt(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if err := cooldown(last, now); err != nil {
			return nil, err
		}
		token, err := secrets.RandomAlnum(MagicLinkLen)
		if err != nil {
			return nil, err
		}
		if err := q.DeleteUnusedMagicLinks(ctx, u.ID); err != nil {
			return nil, err
		}
		if err := q.InsertMagicLink(ctx, db.InsertMagicLinkParams{UserID: u.ID, TokenHash: secrets.SHA256Hex(token), CreatedAt: now, ExpiresAt: now.Add(MagicLinkTTL)}); err != nil {
			return nil, err
		}
		link := s.d.FrontendURL + "/register/set-password?" + url.Values{"token": {token}, "email": {email}}.Encode()
		return map[string]any{"Link": link, "Minutes": int(MagicLinkTTL / time.Minute)}, nil
	})
}

// sendKind names what a registration send writes: its e-mail template and its audit row.
type sendKind struct{ template, action, method string }

var (
	codeSend = sendKind{template: "register_code", action: "auth.registration.code_sent", method: "otp"}
	linkSend = sendKind{template: "register_link", action: "auth.registration.link_sent", method: "magic_link"}
)

// send is what sendCode and sendLink share: the send limit, then one transaction that finds the
// pending user (taken when the account is no longer pending), lets write store the new secret
// and give the e-mail's data, queues that e-mail and records the send.
func (s *Registration) send(ctx context.Context, rawEmail string, taken *apierr.Error, k sendKind,
	write func(q *db.Queries, u db.User, email string, now time.Time) (map[string]any, error)) error {
	email := normEmail(rawEmail)
	if err := s.limitSend(ctx, "reg.send", email); err != nil {
		return err
	}
	return s.tx(ctx, func(q *db.Queries, _ *error) error {
		now := s.d.Clock.Now()
		u, err := s.pendingUser(ctx, q, email, taken)
		if err != nil {
			return err
		}
		data, err := write(q, u, email, now)
		if err != nil {
			return err
		}
		if _, err := s.d.Outbox.Enqueue(ctx, q, now, mail.Message{To: email, Template: k.template, Locale: i18n.Lang(ctx), Data: data}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: k.action, UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10), Details: map[string]any{"method": k.method}})
	})
}

// pendingUser creates the pending user (locale from the request, username fx+id, default
// notification preferences) or reuses it, completing what is missing. The row stays locked
// until the transaction ends, so concurrent sends for one email queue up. Any account that
// is not pending (active, blocked, closed) answers taken.
func (s *Registration) pendingUser(ctx context.Context, q *db.Queries, email string, taken *apierr.Error) (db.User, error) {
	u, err := q.CreatePendingUser(ctx, db.CreatePendingUserParams{Email: email, Locale: i18n.Lang(ctx)})
	if err != nil {
		return u, err
	}
	if u.Status != "pending" {
		return u, taken
	}
	if u.Username == nil {
		name := fmt.Sprintf("fx%08d", u.ID)
		if err := q.SetUsername(ctx, db.SetUsernameParams{ID: u.ID, Username: &name}); err != nil {
			return u, err
		}
		u.Username = &name
	}
	return u, q.EnsureNotificationPreferences(ctx, u.ID)
}

// cooldown refuses a new code or link less than ResendCooldown after the previous one.
func cooldown(prev, now time.Time) error {
	if wait := prev.Add(ResendCooldown).Sub(now); wait > 0 {
		return apierr.RateLimited(wait)
	}
	return nil
}
