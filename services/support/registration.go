package support

import (
	"context"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
)

// ResendSupportRegistrationCode e-mails a pending user a new registration code in their language.
func (s *Support) ResendSupportRegistrationCode(ctx context.Context, req api.ResendSupportRegistrationCodeRequestObject) (api.ResendSupportRegistrationCodeResponseObject, error) {
	err := s.pendingCall(ctx, req.Id, req.Body.Reason, "support.registration.code_resent", func(q *db.Queries, u db.User, now time.Time) error {
		return s.d.Registration.ResendPendingCode(ctx, q, u, now)
	})
	if err != nil {
		return nil, err
	}
	r := api.ResendSupportRegistrationCode200JSONResponse{Code: "REGISTRATION_CODE_RESENT", Message: i18n.Msg(ctx, "REGISTRATION_CODE_RESENT")}
	r.Data.UserId, r.Data.Status = req.Id, api.AccountStatus("pending")
	return r, nil
}

// ExpireSupportRegistrationCodes deletes a pending user's registration code and unused links.
func (s *Support) ExpireSupportRegistrationCodes(ctx context.Context, req api.ExpireSupportRegistrationCodesRequestObject) (api.ExpireSupportRegistrationCodesResponseObject, error) {
	err := s.pendingCall(ctx, req.Id, req.Body.Reason, "support.registration.expired", func(q *db.Queries, u db.User, _ time.Time) error {
		return s.d.Registration.ExpirePendingCodes(ctx, q, u.ID)
	})
	if err != nil {
		return nil, err
	}
	r := api.ExpireSupportRegistrationCodes200JSONResponse{Code: "REGISTRATION_CODES_EXPIRED", Message: i18n.Msg(ctx, "REGISTRATION_CODES_EXPIRED")}
	r.Data.UserId, r.Data.Status = req.Id, api.AccountStatus("pending")
	return r, nil
}

// pendingCall is a write on a pending user's registration: anything but pending is USER_NOT_PENDING.
func (s *Support) pendingCall(ctx context.Context, id int64, reason, action string, fn func(q *db.Queries, u db.User, now time.Time) error) error {
	c := &call{action: action}
	return s.writeCall(ctx, reason, c, func(q *db.Queries, now time.Time) error {
		u, err := lockUser(ctx, q, c, id)
		if err != nil {
			return err
		}
		if u.Status != "pending" {
			return refuse(ErrUserNotPending)
		}
		// The registration's own refusal (the resend cooldown) comes before it writes anything:
		// it is answered, with the call's audit row committed.
		err = fn(q, u, now)
		if e, ok := apierr.As(err); ok {
			return refuse(e)
		}
		return err
	})
}
