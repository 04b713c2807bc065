// Package identity implements login, device-bound sessions, logout and the device list.
package identity

import (
	"context"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/apierr"
)

// Identity implements its operations of the generated strict interface.
type Identity struct{}

// New builds the service.
func New() *Identity { return &Identity{} }

// ListDevices is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Identity) ListDevices(ctx context.Context, request api.ListDevicesRequestObject) (api.ListDevicesResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// Login is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Identity) Login(ctx context.Context, request api.LoginRequestObject) (api.LoginResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// Logout is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Identity) Logout(ctx context.Context, request api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// LogoutDevice is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Identity) LogoutDevice(ctx context.Context, request api.LogoutDeviceRequestObject) (api.LogoutDeviceResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}

// LogoutOthers is not implemented yet (501 NOT_IMPLEMENTED).
func (s *Identity) LogoutOthers(ctx context.Context, request api.LogoutOthersRequestObject) (api.LogoutOthersResponseObject, error) {
	return nil, apierr.ErrNotImplemented
}
