// Package internalkeys issues and authenticates the keys of the internal operations API
// (header X-Internal-Key) and implements their life cycle (tag "Internal keys"): list, rotate
// with an overlap, revoke, expiry. A key is shown once at creation or rotation; only its
// SHA-256 is stored, with a name and the scopes it grants.
package internalkeys

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/reqctx"
)

// Prefix starts every key, so a leaked one is recognisable by secret scanners.
const Prefix = "fxik_"

var (
	nameRe  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	scopeRe = regexp.MustCompile(`^[a-z0-9_]+:[a-z0-9_*]+$`)
)

// ErrScope is 403 FORBIDDEN: the key lacks a scope the operation requires.
var ErrScope = apierr.ErrForbidden

// DefaultOverlap is how long a rotated key's predecessor stays valid (INTERNAL_KEY_ROTATION_OVERLAP).
const DefaultOverlap = 24 * time.Hour

// Service creates, checks and manages internal keys. Nothing is cached in process: every
// request reads its key from PostgreSQL, so a revocation or an expiry holds on the next request
// on every instance.
type Service struct {
	st      *pg.Store
	clock   clock.Clock
	overlap time.Duration
}

// New builds the service (rotation overlap DefaultOverlap).
func New(st *pg.Store, c clock.Clock) *Service {
	return &Service{st: st, clock: c, overlap: DefaultOverlap}
}

// WithOverlap sets the default rotation overlap (0 or less keeps the default) and returns s.
func (s *Service) WithOverlap(d time.Duration) *Service {
	if d > 0 {
		s.overlap = d
	}
	return s
}

// Create stores a new key named name with scopes and returns it in clear, once.
func (s *Service) Create(ctx context.Context, name string, scopes []string) (string, error) {
	return s.CreateExpiring(ctx, name, scopes, nil)
}

// CreateExpiring is Create for a key refused from expires on (nil: never expires).
func (s *Service) CreateExpiring(ctx context.Context, name string, scopes []string, expires *time.Time) (string, error) {
	if !nameRe.MatchString(name) {
		return "", errors.New("internal key: name must be 1-100 letters, digits, '.', '_' or '-'")
	}
	if len(scopes) == 0 {
		return "", errors.New("internal key: at least one scope is required")
	}
	for _, sc := range scopes {
		if !scopeRe.MatchString(sc) {
			return "", fmt.Errorf("internal key: scope %q is not of the form area:action", sc)
		}
	}
	now := s.clock.Now()
	if expires != nil && !expires.After(now) {
		return "", errors.New("internal key: the expiry must be in the future")
	}
	key, sum, err := newKey()
	if err != nil {
		return "", err
	}
	if _, err := s.st.Q.CreateExpiringInternalKey(ctx, db.CreateExpiringInternalKeyParams{Name: name, KeyHash: sum, Scopes: scopes, CreatedAt: now, ExpiresAt: expires}); err != nil {
		if pg.IsUniqueViolation(err) {
			return "", fmt.Errorf("internal key: the name %q is taken", name)
		}
		return "", fmt.Errorf("internal key: %w", err)
	}
	return key, nil
}

// newKey draws a key and its SHA-256.
func newKey() (string, []byte, error) {
	secret, err := secrets.RandomAlnum(48)
	if err != nil {
		return "", nil, err
	}
	key := Prefix + secret
	sum := sha256.Sum256([]byte(key))
	return key, sum[:], nil
}

// AuthenticateInternal resolves an X-Internal-Key header; anything unknown, revoked, expired or
// rotated away for longer than its overlap is 401 UNAUTHENTICATED. The lookup is by hash, so
// timing reveals nothing about stored keys. last_used_at is written at most once a minute.
func (s *Service) AuthenticateInternal(ctx context.Context, key string) (*reqctx.InternalKey, error) {
	if len(key) < len(Prefix)+16 || len(key) > 128 {
		return nil, apierr.ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(key))
	now := s.clock.Now()
	row, err := s.st.Q.GetInternalKeyByHash(ctx, db.GetInternalKeyByHashParams{KeyHash: sum[:], Now: now})
	if err != nil {
		if pg.IsNotFound(err) {
			return nil, apierr.ErrUnauthenticated
		}
		return nil, fmt.Errorf("internal key: lookup: %w", err)
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= time.Minute {
		if err := s.st.Q.TouchInternalKey(ctx, db.TouchInternalKeyParams{ID: row.ID, Now: now}); err != nil {
			return nil, fmt.Errorf("internal key: touch: %w", err)
		}
	}
	return &reqctx.InternalKey{ID: row.ID, Name: row.Name, Scopes: row.Scopes}, nil
}

// Grants reports whether k holds scope, itself or as its area's wildcard ("ledger:*" grants
// "ledger:deposit"). The HTTP layer asks it for every scope the spec lists on an operation.
func Grants(k *reqctx.InternalKey, scope string) bool {
	area, _, _ := strings.Cut(scope, ":")
	return slices.Contains(k.Scopes, scope) || slices.Contains(k.Scopes, area+":*")
}

// Caller returns the key that authenticated the request (its scopes were checked against the
// operation's before the handler ran); outside such a request it is 401 UNAUTHENTICATED.
func Caller(ctx context.Context) (*reqctx.InternalKey, error) {
	if k := reqctx.From(ctx).InternalKey; k != nil {
		return k, nil
	}
	return nil, apierr.ErrUnauthenticated
}
