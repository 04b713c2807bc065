package registration

import (
	"context"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
)

// ResendPendingCode writes a new registration code for the pending user u in the caller's
// transaction (q) and queues its e-mail in the user's language: what support's resend does,
// with the same 60 s cooldown as the user's own resend.
func (s *Registration) ResendPendingCode(ctx context.Context, q *db.Queries, u db.User, now time.Time) error {
	data, err := s.freshCode(ctx, q, u.ID, now)
	if err != nil {
		return err
	}
	_, err = s.d.Outbox.Enqueue(ctx, q, now, mail.Message{To: u.Email, Template: codeSend.template, Locale: u.Locale, Data: data})
	return err
}

// ExpirePendingCodes deletes the user's registration code and unused magic links in the
// caller's transaction: neither can activate the account any more.
func (s *Registration) ExpirePendingCodes(ctx context.Context, q *db.Queries, userID int64) error {
	if err := q.DeleteOTP(ctx, db.DeleteOTPParams{UserID: userID, Purpose: purposeRegister}); err != nil {
		return err
	}
	return q.DeleteUnusedMagicLinks(ctx, userID)
}
