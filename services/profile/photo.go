package profile

import (
	"context"
	"fmt"
	"mime/multipart"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/form"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
)

// UploadMePhoto checks and re-encodes the `photo` part, stores it under a new random key,
// commits that key on the locked user row, and only then deletes the object it replaced.
// Concurrent uploads by one user serialize on the row lock: each one deletes exactly the key it
// replaced, so one photo remains. Every object write and delete goes through the deletions
// queue: a failed delete, or a process dying mid-upload, leaves a row the worker finishes, never
// an orphan. A refused photo stores nothing.
func (s *Profile) UploadMePhoto(ctx context.Context, request api.UploadMePhotoRequestObject) (api.UploadMePhotoResponseObject, error) {
	p := reqctx.Caller(ctx)
	raw, err := readPhoto(request.Body)
	if err != nil {
		return nil, err
	}
	jpg, err := s.decode(ctx, raw)
	if err != nil {
		return nil, err
	}
	suffix, err := secrets.RandomAlnum(20)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("profile_photos/user_%d_%s.jpg", p.UserID, suffix)
	now := s.clock.Now()
	var old *string
	replaced := false // old names another object, deleted once the new key is committed
	var updatedAt = now
	err = s.dels.Upload(ctx, key, jpg, "image/jpeg", func(q *db.Queries) error {
		u, err := q.GetUserByIDForUpdate(ctx, p.UserID)
		if err != nil {
			return err
		}
		old = u.PhotoKey
		if replaced = old != nil && *old != key; replaced {
			if err := s.dels.Schedule(ctx, q, *old); err != nil {
				return err
			}
		}
		if updatedAt, err = q.SetUserPhotoKey(ctx, db.SetUserPhotoKeyParams{ID: p.UserID, PhotoKey: &key, Now: now}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "profile.photo.updated", UserID: p.UserID, SubjectType: "user",
			SubjectID: strconv.FormatInt(p.UserID, 10),
			Details:   map[string]any{"replaced": old != nil, "bytes": len(jpg)},
		})
	})
	if err != nil {
		return nil, err
	}
	if replaced {
		s.dels.DeleteNow(ctx, *old)
	}
	url, err := s.objects.SignedURL(ctx, key, PhotoURLTTL)
	if err != nil {
		return nil, err
	}
	resp := api.UploadMePhoto200JSONResponse{Code: "ME_PHOTO_UPDATED", Message: i18n.Msg(ctx, "ME_PHOTO_UPDATED")}
	resp.Data.PhotoUrl = url
	resp.Data.UpdatedAt = apitime.Format(updatedAt)
	return resp, nil
}

// readPhoto returns the first part named `photo`, at most MaxPhotoBytes.
func readPhoto(r *multipart.Reader) ([]byte, error) {
	parts, err := form.Read(r, map[string]int64{"photo": MaxPhotoBytes}, errPhotoTooLarge)
	switch photo, ok := parts["photo"]; {
	case err != nil:
		return nil, err
	case !ok:
		return nil, apierr.Invalid("photo", "required")
	case len(photo) > MaxPhotoBytes:
		return nil, errPhotoTooLarge
	default:
		return photo, nil
	}
}

// decode runs reencode under the decode semaphore.
func (s *Profile) decode(ctx context.Context, raw []byte) ([]byte, error) {
	if err := s.decodes.Acquire(ctx); err != nil {
		return nil, err
	}
	defer s.decodes.Release()
	return reencode(raw)
}
