package registration

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/twofactor"
)

// ForgotPassword always answers the same; an active account gets a 6-digit code by e-mail
// (unless one was sent less than a minute ago).
func (s *Registration) ForgotPassword(ctx context.Context, r api.ForgotPasswordRequestObject) (api.ForgotPasswordResponseObject, error) {
	email := normEmail(string(r.Body.Email))
	if err := s.limitSend(ctx, "pwreset.send", email); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(q *db.Queries, _ *error) error {
		now := s.d.Clock.Now()
		u, err := q.GetUserByEmailForUpdate(ctx, email)
		if pg.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if u.Status != "active" {
			return nil
		}
		live, err := q.GetOTP(ctx, db.GetOTPParams{UserID: u.ID, Purpose: purposeReset, Now: now, MaxAttempts: OTPMaxAttempts})
		if err == nil && cooldown(live.CreatedAt, now) != nil {
			return nil // the previous code is fresh: answering 429 would reveal the account
		}
		if err != nil && !pg.IsNotFound(err) {
			return err
		}
		code, err := s.newOTP(ctx, q, u.ID, purposeReset, now)
		if err != nil {
			return err
		}
		if _, err := s.d.Outbox.Enqueue(ctx, q, now, mail.Message{
			To: u.Email, Template: "password_reset_code", Locale: i18n.ForUser(ctx, u.Locale),
			Data: map[string]any{"Code": code, "Minutes": int(OTPTTL / time.Minute)},
		}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: "auth.password.reset_requested", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10)})
	})
	if err != nil {
		return nil, err
	}
	return api.ForgotPassword200JSONResponse{Code: "PASSWORD_RESET_SENT", Message: i18n.Msg(ctx, "PASSWORD_RESET_SENT")}, nil
}

// ErrResetRefused is the one answer to every reset that fails on the code: wrong code, no live
// code (never sent, expired, spent, exhausted), unknown, pending, blocked or closed e-mail.
var ErrResetRefused = ErrOTPInvalid

// ResetPassword checks the e-mailed code, then the second factor when the user has 2FA, then
// (re-checking the code under its row lock) sets the new password, revokes every token of the
// user and e-mails a notification in one transaction. The second factor is checked between the
// two transactions: it is spent when it passes, so it comes after the code's own check, and no
// transaction waits on the 2FA service.
//
// It is no oracle: before the code is looked at, the attempt takes a slot in the e-mail's
// guessing budget (whether or not the e-mail has an account) and the new password is hashed,
// so every refusal costs the same one argon2id hash and gives the same ErrResetRefused.
func (s *Registration) ResetPassword(ctx context.Context, r api.ResetPasswordRequestObject) (api.ResetPasswordResponseObject, error) {
	b := r.Body
	email := normEmail(string(b.Email))
	if err := s.limitSetPassword(ctx, "pwreset.reset", email); err != nil {
		return nil, err
	}
	var fe apierr.Fields
	password.CheckNew(&fe, b.Password, b.PasswordConfirmation, email)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	slot, err := s.reserveGuess(ctx, s.d.ResetGuesses, email)
	if err != nil {
		return nil, err
	}
	hash, err := s.d.Hasher.Hash(ctx, b.Password)
	if err != nil {
		return nil, err
	}
	userID, err := s.checkResetCode(ctx, email, b.Code)
	if err != nil {
		return nil, err
	}
	if err := s.checkSecondFactor(ctx, userID, ptr.Value(b.TwofaCode)); err != nil {
		return nil, err
	}
	if err := s.commitReset(ctx, email, b.Code, userID, hash); err != nil {
		return nil, err
	}
	slot.Release(ctx)
	return api.ResetPassword200JSONResponse{Code: "PASSWORD_RESET_SUCCESS", Message: i18n.Msg(ctx, "PASSWORD_RESET_SUCCESS")}, nil
}

// checkResetCode checks the code of an active account (a wrong one is counted) and returns
// the user; every refusal is ErrResetRefused, audited by the same statement whatever the kind
// of e-mail (so every refusal also costs the same write). A code whose account is no longer
// active dies.
func (s *Registration) checkResetCode(ctx context.Context, email, code string) (int64, error) {
	var userID int64
	err := s.tx(ctx, func(q *db.Queries, outcome *error) error {
		row, bad, err := s.checkOTP(ctx, q, email, purposeReset, code)
		if err != nil {
			return err
		}
		reason := ""
		switch {
		case bad == ErrOTPInvalid:
			reason = "wrong_code"
		case bad != nil:
			reason = "no_live_code"
		case row.Status != "active":
			// Blocked or closed since the code was sent: the code dies with it.
			reason = "account_" + row.Status
			if err := q.DeleteOTP(ctx, db.DeleteOTPParams{UserID: row.UserID, Purpose: purposeReset}); err != nil {
				return err
			}
		default:
			userID = row.UserID
			return nil
		}
		*outcome = ErrResetRefused
		ev := audit.Event{Action: "auth.password.reset_failed", UserID: row.UserID, Details: map[string]any{"reason": reason}}
		// A user is named by id only (the audit chain cannot forget an e-mail: services/privacy).
		if row.UserID != 0 {
			ev.SubjectType, ev.SubjectID = "user", strconv.FormatInt(row.UserID, 10)
		} else {
			ev.Details["email"] = email
		}
		return audit.Record(ctx, q, s.d.Clock.Now(), ev)
	})
	return userID, err
}

// commitReset re-checks the code under its row lock and, in one transaction, stores hash,
// spends the code, revokes every token, e-mails the owner and audits the reset.
func (s *Registration) commitReset(ctx context.Context, email, code string, userID int64, hash string) error {
	return s.tx(ctx, func(q *db.Queries, outcome *error) error {
		now := s.d.Clock.Now()
		row, bad, err := s.checkOTP(ctx, q, email, purposeReset, code)
		if err != nil {
			return err
		}
		if bad != nil || row.UserID != userID || row.Status != "active" {
			*outcome = ErrResetRefused // used or replaced meanwhile
			return nil
		}
		if err := q.SetPasswordHash(ctx, db.SetPasswordHashParams{ID: row.UserID, PasswordHash: &hash, UpdatedAt: now}); err != nil {
			return err
		}
		if err := q.DeleteOTP(ctx, db.DeleteOTPParams{UserID: row.UserID, Purpose: purposeReset}); err != nil {
			return err
		}
		revoked, err := q.RevokeAllUserTokens(ctx, db.RevokeAllUserTokensParams{UserID: row.UserID, RevokedAt: &now})
		if err != nil {
			return err
		}
		if _, err := s.d.Outbox.Enqueue(ctx, q, now, mail.Message{
			To: row.Email, Template: "password_changed", Locale: i18n.ForUser(ctx, row.Locale),
			Data: map[string]any{"Time": mail.Time(now)},
		}); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{
			Action: "auth.password.reset", UserID: row.UserID, SubjectType: "user", SubjectID: strconv.FormatInt(row.UserID, 10),
			Details: map[string]any{"revoked_tokens": revoked},
		}); err != nil {
			return err
		}
		return events.Record(ctx, q, now, events.OfUser(events.AuthPasswordReset, row.UserID, api.AuthPasswordResetEventData{RevokedTokens: revoked}))
	})
}

// checkSecondFactor asks the 2FA service (when wired) for a TOTP or recovery code. A missing
// or wrong code (the 2FA service's one INVALID_2FA_CODE error) also counts as a wrong try on the
// reset code, so one e-mailed code cannot be used to guess second factors without bound.
func (s *Registration) checkSecondFactor(ctx context.Context, userID int64, code string) error {
	if s.d.SecondFactor == nil {
		return nil
	}
	on, err := s.d.SecondFactor.Enabled(ctx, userID)
	if err != nil || !on {
		return err
	}
	refused := twofactor.ErrInvalidCode
	if code != "" {
		err := s.d.SecondFactor.Verify(ctx, userID, code)
		if err == nil {
			return nil
		}
		ae, ok := apierr.As(err)
		if !ok {
			return err
		}
		refused = ae
	}
	if refused.Code == twofactor.ErrInvalidCode.Code {
		if err := s.tx(ctx, func(q *db.Queries, _ *error) error { return s.countFailure(ctx, q, userID, purposeReset) }); err != nil {
			return err
		}
	}
	return refused
}
