// Package tokens issues and authenticates device-bound personal access tokens `<id>|<secret>`.
// Only SHA-256(secret) is stored; one live token per (user, device) is guaranteed by an
// advisory lock inside the issuing transaction plus a partial unique index.
package tokens

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/reqctx"
)

// SecretLen is the number of random characters after the `|`.
const SecretLen = 40

// Device is the optional device a token is bound to (ID empty: not device-bound).
type Device struct {
	ID, Type, Name, Country string
}

// Service issues and checks tokens.
type Service struct {
	st       *pg.Store
	clock    clock.Clock
	absolute time.Duration
	idle     time.Duration
	lookups  *group[int64, *db.GetLiveAccessTokenRow]
	touches  *group[touch, struct{}]
}

// New builds the service. absolute and idle are the token lifetimes (30 and 7 days by default).
func New(st *pg.Store, c clock.Clock, absolute, idle time.Duration) *Service {
	return &Service{st: st, clock: c, absolute: absolute, idle: idle, lookups: lookups(st.Q), touches: touches(st.Q)}
}

// Issue creates a token for userID inside the caller's transaction (q must be bound to it):
// the previous live token of the same device is revoked first, under an advisory lock.
func (s *Service) Issue(ctx context.Context, q *db.Queries, userID int64, dev Device) (plain string, tokenID int64, err error) {
	now := s.clock.Now()
	info := reqctx.From(ctx)
	if dev.ID != "" {
		if err := q.LockUserDevice(ctx, db.LockUserDeviceParams{UserID: userID, DeviceKey: dev.ID}); err != nil {
			return "", 0, fmt.Errorf("tokens: lock: %w", err)
		}
		if _, err := q.RevokeDeviceTokens(ctx, db.RevokeDeviceTokensParams{UserID: userID, DeviceID: &dev.ID, RevokedAt: &now}); err != nil {
			return "", 0, fmt.Errorf("tokens: revoke device: %w", err)
		}
	}
	secret, err := secrets.RandomAlnum(SecretLen)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256([]byte(secret))
	row, err := q.InsertAccessToken(ctx, db.InsertAccessTokenParams{
		UserID:     userID,
		SecretHash: sum[:],
		DeviceID:   ptr.NonZero(dev.ID),
		DeviceType: ptr.NonZero(dev.Type),
		DeviceName: ptr.NonZero(dev.Name),
		Country:    ptr.NonZero(dev.Country),
		Ip:         ptr.NonZero(info.IP),
		UserAgent:  ptr.NonZero(info.StoredUserAgent()),
		CreatedAt:  now,
		ExpiresAt:  now.Add(s.absolute),
	})
	if err != nil {
		return "", 0, fmt.Errorf("tokens: insert: %w", err)
	}
	return strconv.FormatInt(row.ID, 10) + "|" + secret, row.ID, nil
}

// Parse splits `<id>|<secret>`.
func Parse(raw string) (id int64, secret string, ok bool) {
	i := strings.IndexByte(raw, '|')
	if i <= 0 || i > 19 || len(raw)-i-1 != SecretLen {
		return 0, "", false
	}
	id, err := strconv.ParseInt(raw[:i], 10, 64)
	if err != nil || id <= 0 {
		return 0, "", false
	}
	return id, raw[i+1:], true
}

// Authenticate resolves a bearer token to its principal, or UNAUTHENTICATED for anything
// missing, malformed, unknown, revoked, expired, idle or whose user is no longer active.
func (s *Service) Authenticate(ctx context.Context, raw string) (*reqctx.Principal, error) {
	id, secret, ok := Parse(raw)
	if !ok {
		return nil, apierr.ErrUnauthenticated
	}
	// Read on every request, never cached: a revocation is effective on the next request on
	// every instance. Concurrent requests' lookups share one statement (touch.go).
	row, err := s.lookups.do(ctx, id)
	if err != nil {
		return nil, err
	}
	if row == nil {
		return nil, apierr.ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], row.SecretHash) != 1 {
		return nil, apierr.ErrUnauthenticated
	}
	now := s.clock.Now()
	if !now.Before(row.ExpiresAt) || row.UserStatus != "active" {
		return nil, apierr.ErrUnauthenticated
	}
	if row.LastUsedAt != nil && now.Sub(*row.LastUsedAt) > s.idle {
		return nil, apierr.ErrUnauthenticated
	}
	// last_used_at is written at most once a minute (the query re-checks it): skip the round trip
	// when the row just read is already fresh.
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= time.Minute {
		if _, err := s.touches.do(ctx, touch{id: row.ID, now: now, ip: reqctx.From(ctx).IP}); err != nil {
			return nil, err
		}
	}
	return &reqctx.Principal{UserID: row.UserID, TokenID: row.ID, DeviceID: ptr.Value(row.DeviceID), Locale: row.UserLocale, TwofaEnabled: row.UserTwofaEnabled}, nil
}
