// Package registration implements registration by e-mail OTP and magic link, and password reset.
package registration

import (
	"context"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/apierr"
)

// Registration implements its operations of the generated strict interface.
type Registration struct{}

// New builds the service.
func New() *Registration { return &Registration{} }

// ForgotPassword is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) ForgotPassword(ctx context.Context, request api.ForgotPasswordRequestObject) (api.ForgotPasswordResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// ResetPassword is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) ResetPassword(ctx context.Context, request api.ResetPasswordRequestObject) (api.ResetPasswordResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// RegisterEmail is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) RegisterEmail(ctx context.Context, request api.RegisterEmailRequestObject) (api.RegisterEmailResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// SetPasswordRegisterMagicLink is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) SetPasswordRegisterMagicLink(ctx context.Context, request api.SetPasswordRegisterMagicLinkRequestObject) (api.SetPasswordRegisterMagicLinkResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// ResendRegisterEmailCode is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) ResendRegisterEmailCode(ctx context.Context, request api.ResendRegisterEmailCodeRequestObject) (api.ResendRegisterEmailCodeResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// SendRegisterEmailCode is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) SendRegisterEmailCode(ctx context.Context, request api.SendRegisterEmailCodeRequestObject) (api.SendRegisterEmailCodeResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// SetPasswordRegisterEmailCode is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) SetPasswordRegisterEmailCode(ctx context.Context, request api.SetPasswordRegisterEmailCodeRequestObject) (api.SetPasswordRegisterEmailCodeResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// VerifyRegisterEmailCode is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) VerifyRegisterEmailCode(ctx context.Context, request api.VerifyRegisterEmailCodeRequestObject) (api.VerifyRegisterEmailCodeResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// ResendRegisterEmail is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Registration) ResendRegisterEmail(ctx context.Context, request api.ResendRegisterEmailRequestObject) (api.ResendRegisterEmailResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}
