package registration

import (
	"context"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
)

// VerifyRegisterEmailCode checks the registration code without activating anything.
func (s *Registration) VerifyRegisterEmailCode(ctx context.Context, r api.VerifyRegisterEmailCodeRequestObject) (api.VerifyRegisterEmailCodeResponseObject, error) {
	email := normEmail(string(r.Body.Email))
	if err := s.d.Limiter.Allow(ctx, "reg.verify", s.d.Limits.VerifyPerEmail, email); err != nil {
		return nil, err
	}
	slot, err := s.reserveGuess(ctx, s.d.RegisterGuesses, email)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(q *db.Queries, outcome *error) error {
		_, bad, err := s.checkOTP(ctx, q, email, purposeRegister, r.Body.Code)
		if err != nil {
			return err
		}
		if bad != nil {
			*outcome = bad
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slot.Release(ctx)
	return api.VerifyRegisterEmailCode200JSONResponse{Code: "OTP_VALID", Message: i18n.Msg(ctx, "OTP_VALID"), Valid: true}, nil
}

// mac binds a code to its purpose and user, so a code is worthless anywhere else; it is made
// with the newest HMAC key.
func (s *Registration) mac(purpose string, userID int64, code string) []byte {
	return s.d.Keys.MAC(otpMACInput(purpose, userID, code))
}

// macMatches checks code against a stored MAC, under any key of the HMAC ring: a code sent
// before a key rotation stays valid for its 10 minutes while its key is in the ring.
func (s *Registration) macMatches(purpose string, userID int64, code string, stored []byte) bool {
	p, v := otpMACInput(purpose, userID, code)
	return s.d.Keys.VerifyMAC(p, v, stored)
}

func otpMACInput(purpose string, userID int64, code string) (string, string) {
	return "email-otp:" + purpose, strconv.FormatInt(userID, 10) + ":" + code
}

// newOTP draws a 6-digit code and stores its HMAC, replacing any previous code for purpose.
func (s *Registration) newOTP(ctx context.Context, q *db.Queries, userID int64, purpose string, now time.Time) (string, error) {
	code, err := secrets.RandomDigits(6)
	if err != nil {
		return "", err
	}
	err = q.UpsertOTP(ctx, db.UpsertOTPParams{UserID: userID, Purpose: purpose, CodeMac: s.mac(purpose, userID, code), CreatedAt: now, ExpiresAt: now.Add(OTPTTL)})
	return code, err
}

// checkOTP locks the live code of email for purpose and compares code with it. bad is
// OTP_EXPIRED (no live code: never sent, expired, used, exhausted, unknown email) or
// OTP_INVALID (wrong code, counted; the fifth wrong try deletes the code). The transaction
// must commit when bad is set, so the count sticks.
func (s *Registration) checkOTP(ctx context.Context, q *db.Queries, email, purpose, code string) (row db.LockOTPByEmailRow, bad *apierr.Error, err error) {
	row, err = q.LockOTPByEmail(ctx, db.LockOTPByEmailParams{Email: email, Purpose: purpose, Now: s.d.Clock.Now(), MaxAttempts: OTPMaxAttempts})
	if pg.IsNotFound(err) {
		return row, ErrOTPExpired, nil
	}
	if err != nil {
		return row, nil, err
	}
	if !s.macMatches(purpose, row.UserID, code, row.CodeMac) {
		return row, ErrOTPInvalid, s.countFailure(ctx, q, row.UserID, purpose)
	}
	return row, nil, nil
}

// countFailure counts a wrong try on a locked code and deletes the code at the limit.
func (s *Registration) countFailure(ctx context.Context, q *db.Queries, userID int64, purpose string) error {
	n, err := q.IncrementOTPAttempts(ctx, db.IncrementOTPAttemptsParams{UserID: userID, Purpose: purpose})
	if pg.IsNotFound(err) {
		return nil // already used or deleted by a concurrent request
	}
	if err != nil {
		return err
	}
	if n >= OTPMaxAttempts {
		return q.DeleteOTP(ctx, db.DeleteOTPParams{UserID: userID, Purpose: purpose})
	}
	return nil
}
