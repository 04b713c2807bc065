// Package twofactor implements TOTP two-factor authentication: enrollment, the login challenge, step-up and recovery codes.
package twofactor

import (
	"context"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/apierr"
)

// TwoFactor implements its operations of the generated strict interface.
type TwoFactor struct{}

// New builds the service.
func New() *TwoFactor { return &TwoFactor{} }

// DisableTwofa is not implemented yet (501 NOT_IMPLEMENTED).
func (s *TwoFactor) DisableTwofa(ctx context.Context, request api.DisableTwofaRequestObject) (api.DisableTwofaResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// EnableTwofa is not implemented yet (501 NOT_IMPLEMENTED).
func (s *TwoFactor) EnableTwofa(ctx context.Context, request api.EnableTwofaRequestObject) (api.EnableTwofaResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// GetTwofaStatus is not implemented yet (501 NOT_IMPLEMENTED).
func (s *TwoFactor) GetTwofaStatus(ctx context.Context, request api.GetTwofaStatusRequestObject) (api.GetTwofaStatusResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// VerifyTwofa is not implemented yet (501 NOT_IMPLEMENTED).
func (s *TwoFactor) VerifyTwofa(ctx context.Context, request api.VerifyTwofaRequestObject) (api.VerifyTwofaResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// VerifyLogin2fa is not implemented yet (501 NOT_IMPLEMENTED).
func (s *TwoFactor) VerifyLogin2fa(ctx context.Context, request api.VerifyLogin2faRequestObject) (api.VerifyLogin2faResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}
