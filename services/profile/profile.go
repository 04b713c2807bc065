// Package profile implements the authenticated user's profile (GET and PATCH /api/v1/me) and
// profile photo (POST /api/v1/me/photo). Photos live in object storage; the database keeps only
// the key, and photo_url is a time-limited signed URL built on every read.
package profile

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/kit/sema"
)

// PhotoURLTTL is how long a photo_url stays valid.
const PhotoURLTTL = time.Hour

// Profile implements its operations of the generated strict interface.
type Profile struct {
	store   *pg.Store
	objects blob.Storage
	dels    *deletions.Queue
	clock   clock.Clock
	log     *slog.Logger
	// decodes bounds the photos decoded at once: a 4096×4096 image takes up to 128 MiB.
	decodes sema.Sema
}

// New builds the service.
func New(st *pg.Store, objects blob.Storage, dels *deletions.Queue, c clock.Clock, log *slog.Logger) *Profile {
	return &Profile{store: st, objects: objects, dels: dels, clock: c, log: log, decodes: sema.New(runtime.NumCPU())}
}

// GetMe returns the caller's profile with a freshly signed photo_url.
func (s *Profile) GetMe(ctx context.Context, request api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	p := reqctx.Caller(ctx)
	u, err := s.store.Q.GetUserByID(ctx, p.UserID)
	if pg.IsNotFound(err) {
		return nil, apierr.ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	photoURL, err := s.photoURL(ctx, u.PhotoKey)
	if err != nil {
		return nil, err
	}
	username := ""
	if u.Username != nil {
		username = *u.Username
	}
	return api.GetMe200JSONResponse{Code: "ME_OK", Message: i18n.Msg(ctx, "ME_OK"), Data: api.Profile{
		Id:           u.ID,
		Email:        u.Email,
		Status:       api.AccountStatus(u.Status),
		Locale:       api.Locale(u.Locale),
		Username:     username,
		PhotoUrl:     photoURL,
		FirstName:    u.FirstName,
		LastName:     u.LastName,
		BirthDate:    date(u.BirthDate),
		Country:      u.Country,
		Nationality:  u.Nationality,
		PhoneNumber:  u.PhoneNumber,
		TwofaEnabled: u.TwofaEnabled,
		CreatedAt:    apitime.Format(u.CreatedAt),
		UpdatedAt:    apitime.Format(u.UpdatedAt),
	}}, nil
}

// photoURL signs key for PhotoURLTTL; no key, no URL.
func (s *Profile) photoURL(ctx context.Context, key *string) (*string, error) {
	if key == nil {
		return nil, nil
	}
	u, err := s.objects.SignedURL(ctx, *key, PhotoURLTTL)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func date(t *time.Time) *openapi_types.Date {
	if t == nil {
		return nil
	}
	return &openapi_types.Date{Time: *t}
}

// profileUpdate is the PATCH answer's data.
func profileUpdate(u db.User) api.ProfileUpdate {
	return api.ProfileUpdate{
		Id:          u.ID,
		FirstName:   u.FirstName,
		LastName:    u.LastName,
		BirthDate:   date(u.BirthDate),
		Country:     u.Country,
		Nationality: u.Nationality,
		PhoneNumber: u.PhoneNumber,
		Locale:      api.Locale(u.Locale),
		UpdatedAt:   apitime.Format(u.UpdatedAt),
	}
}
