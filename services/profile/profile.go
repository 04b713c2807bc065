// Package profile implements the authenticated user's profile and photo.
package profile

import (
	"context"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/apierr"
)

// Profile implements its operations of the generated strict interface.
type Profile struct{}

// New builds the service.
func New() *Profile { return &Profile{} }

// GetMe is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Profile) GetMe(ctx context.Context, request api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// UpdateMe is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Profile) UpdateMe(ctx context.Context, request api.UpdateMeRequestObject) (api.UpdateMeResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// UploadMePhoto is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Profile) UploadMePhoto(ctx context.Context, request api.UploadMePhotoRequestObject) (api.UploadMePhotoResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}
