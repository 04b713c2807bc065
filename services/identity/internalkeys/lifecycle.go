package internalkeys

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/audit"
)

// MaxOverlap bounds a rotation's overlap.
const MaxOverlap = 7 * 24 * time.Hour

// Errors of the key life cycle.
var (
	ErrNotFound = apierr.New(http.StatusNotFound, "INTERNAL_KEY_NOT_FOUND")
	ErrInactive = apierr.New(http.StatusConflict, "INTERNAL_KEY_INACTIVE")
)

// Key is an internal key as listed: never its secret or hash.
type Key = db.ListInternalKeysRow

// List returns every key, oldest first.
func (s *Service) List(ctx context.Context) ([]Key, error) { return s.st.Q.ListInternalKeys(ctx) }

// Rotate draws a new key for name; the old one stays valid for overlap (negative: the
// configured default; 0: ends at once). It returns the new key, shown once, and the row.
func (s *Service) Rotate(ctx context.Context, name string, overlap time.Duration) (string, Key, error) {
	if overlap < 0 {
		overlap = s.overlap
	}
	var plain string
	var out Key
	err := s.change(ctx, name, "internal_key.rotated", map[string]any{"overlap_seconds": int64(overlap / time.Second)},
		func(q *db.Queries, k Key, now time.Time) error {
			var sum []byte
			var err error
			if plain, sum, err = newKey(); err != nil {
				return err
			}
			var until *time.Time
			if overlap > 0 {
				t := now.Add(overlap)
				until = &t
			}
			r, err := q.RotateInternalKey(ctx, db.RotateInternalKeyParams{ID: k.ID, KeyHash: sum, Now: now, PreviousExpiresAt: until})
			out = Key(r)
			return err
		})
	return plain, out, err
}

// Revoke ends the key (and the one it was rotated from) from the next request on.
func (s *Service) Revoke(ctx context.Context, name, reason string) (Key, error) {
	var out Key
	err := s.change(ctx, name, "internal_key.revoked", map[string]any{"reason": reason}, func(q *db.Queries, k Key, now time.Time) error {
		r, err := q.RevokeInternalKey(ctx, db.RevokeInternalKeyParams{ID: k.ID, Now: now})
		out = Key(r)
		return err
	})
	return out, err
}

// change locks the live key name, lets fn change it and audit-logs action, in one transaction.
// Outside a request (the CLI) the audit actor is the system.
func (s *Service) change(ctx context.Context, name, action string, details map[string]any, fn func(q *db.Queries, k Key, now time.Time) error) error {
	return s.st.Tx(ctx, func(q *db.Queries) error {
		now := s.clock.Now()
		k, err := q.GetInternalKeyByNameForUpdate(ctx, name)
		if pg.IsNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
			return ErrInactive
		}
		if err := fn(q, Key(k), now); err != nil {
			return fmt.Errorf("internal key: %w", err)
		}
		details["name"] = k.Name
		return audit.Record(ctx, q, now, audit.Event{Action: action, SubjectType: "internal_key", SubjectID: strconv.FormatInt(k.ID, 10),
			Details: details, System: true})
	})
}

// ListInternalKeys lists every key (never a secret).
func (s *Service) ListInternalKeys(ctx context.Context, _ api.ListInternalKeysRequestObject) (api.ListInternalKeysResponseObject, error) {
	rows, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.InternalKey, len(rows))
	for i, r := range rows {
		out[i] = view(r)
	}
	return api.ListInternalKeys200JSONResponse{Code: "INTERNAL_KEYS_OK", Message: i18n.Msg(ctx, "INTERNAL_KEYS_OK"), Data: out}, nil
}

// RotateInternalKey rotates a key; the new one is in the answer, once.
func (s *Service) RotateInternalKey(ctx context.Context, req api.RotateInternalKeyRequestObject) (api.RotateInternalKeyResponseObject, error) {
	overlap := time.Duration(-1)
	if req.Body.OverlapSeconds != nil {
		overlap = time.Duration(*req.Body.OverlapSeconds) * time.Second
	}
	plain, k, err := s.Rotate(ctx, req.Name, overlap)
	if err != nil {
		return nil, err
	}
	v := view(k)
	return api.RotateInternalKey200JSONResponse{Code: "INTERNAL_KEY_ROTATED", Message: i18n.Msg(ctx, "INTERNAL_KEY_ROTATED"),
		Data: api.InternalKeySecret{Id: v.Id, Name: v.Name, Scopes: v.Scopes, CreatedAt: v.CreatedAt, LastUsedAt: v.LastUsedAt, ExpiresAt: v.ExpiresAt,
			RotatedAt: v.RotatedAt, PreviousExpiresAt: v.PreviousExpiresAt, RevokedAt: v.RevokedAt, Key: plain}}, nil
}

// RevokeInternalKey revokes a key; reason is required and audit-logged.
func (s *Service) RevokeInternalKey(ctx context.Context, req api.RevokeInternalKeyRequestObject) (api.RevokeInternalKeyResponseObject, error) {
	reason, err := rules.Reason(req.Body.Reason, rules.MaxReasonRunes)
	if err != nil {
		return nil, err
	}
	k, err := s.Revoke(ctx, req.Name, reason)
	if err != nil {
		return nil, err
	}
	return api.RevokeInternalKey200JSONResponse{Code: "INTERNAL_KEY_REVOKED", Message: i18n.Msg(ctx, "INTERNAL_KEY_REVOKED"), Data: view(k)}, nil
}

func view(k Key) api.InternalKey {
	return api.InternalKey{Id: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: apitime.Format(k.CreatedAt), LastUsedAt: apitime.FormatPtr(k.LastUsedAt),
		ExpiresAt: apitime.FormatPtr(k.ExpiresAt), RotatedAt: apitime.FormatPtr(k.RotatedAt), PreviousExpiresAt: apitime.FormatPtr(k.PreviousExpiresAt),
		RevokedAt: apitime.FormatPtr(k.RevokedAt)}
}
