// Package challenge stores login 2FA challenges in Redis: created by a password login of a 2FA
// user, consumed by verify-login. A challenge lives a fixed time (never extended), is bound to
// the client IP, User-Agent and device, and allows a bounded number of attempts.
package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/infra/cache"
)

// TTL is the challenge lifetime (documented `expires_in: 300`).
const TTL = 300 * time.Second

// MaxAttempts is the number of wrong codes that delete a challenge.
const MaxAttempts = 5

// Challenge is what a login left for the second step.
type Challenge struct {
	ID         string    `json:"id"`
	UserID     int64     `json:"user_id"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	DeviceID   string    `json:"device_id"`
	DeviceType string    `json:"device_type"`
	DeviceName string    `json:"device_name"`
	Country    string    `json:"country,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ErrNotFound means unknown, expired or deleted.
var ErrNotFound = errors.New("challenge: not found")

// Store keeps challenges in Redis.
type Store struct{ c *cache.Cache }

// New builds the store.
func New(c *cache.Cache) *Store { return &Store{c: c} }

func (s *Store) key(id string) string { return s.c.Key("challenge", cache.Tag(id)) }

// failuresKey counts a challenge's wrong codes; derived from key, so it shares its hash tag.
func (s *Store) failuresKey(id string) string { return s.key(id) + ":failures" }

// Create saves ch with a new UUID and a hard TTL; now comes from the service clock so tests can
// check expiry without waiting.
func (s *Store) Create(ctx context.Context, ch Challenge, now time.Time) (Challenge, error) {
	ch.ID = uuid.NewString()
	ch.ExpiresAt = now.Add(TTL)
	b, err := json.Marshal(ch)
	if err != nil {
		return ch, err
	}
	if err := s.c.R.Set(ctx, s.key(ch.ID), b, TTL).Err(); err != nil {
		return ch, fmt.Errorf("challenge: save: %w", err)
	}
	return ch, nil
}

// Get loads a live challenge; one past its ExpiresAt (by the service clock) is deleted and
// reported as not found.
func (s *Store) Get(ctx context.Context, id string, now time.Time) (Challenge, error) {
	b, err := s.c.R.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Challenge{}, ErrNotFound
	}
	if err != nil {
		return Challenge{}, fmt.Errorf("challenge: load: %w", err)
	}
	var ch Challenge
	if err := json.Unmarshal(b, &ch); err != nil {
		return Challenge{}, err
	}
	if !now.Before(ch.ExpiresAt) {
		_ = s.Delete(ctx, id)
		return Challenge{}, ErrNotFound
	}
	return ch, nil
}

// failureScript counts a wrong code against a live challenge, atomically: concurrent wrong codes
// each count (a read-modify-write of the challenge would let a burst of guesses count as one).
// The count is its own key, expiring with the challenge, so the challenge is never rewritten and
// its lifetime never extended; the last allowed failure deletes both. A challenge already gone
// counts nothing (0). Both keys share the challenge's hash tag (Redis Cluster).
var failureScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], math.max(redis.call('PTTL', KEYS[1]), 1)) end
if n >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1], KEYS[2]) end
return n
`)

// RecordFailure counts a wrong code and deletes the challenge at MaxAttempts. It returns the
// attempts used, or 0 when the challenge was already gone (spent by concurrent failures or used).
// The count is a durable write (cache.Durably): a Redis failover cannot give the guesses back.
func (s *Store) RecordFailure(ctx context.Context, ch Challenge) (int, error) {
	keys := []string{s.key(ch.ID), s.failuresKey(ch.ID)}
	var n int
	err := s.c.Durably(ctx, keys[0], func(r redis.Cmdable) error {
		var err error
		n, err = failureScript.Run(ctx, r, keys, MaxAttempts).Int()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("challenge: count failure: %w", err)
	}
	return n, nil
}

// Consume deletes the challenge and reports whether this caller deleted it: of several
// concurrent successful verifications exactly one wins. The deletion is a durable write
// (cache.Durably): a Redis failover cannot bring a spent challenge back.
func (s *Store) Consume(ctx context.Context, id string) (bool, error) {
	var n int64
	err := s.c.Durably(ctx, s.key(id), func(r redis.Cmdable) error {
		var err error
		n, err = r.Del(ctx, s.key(id)).Result()
		return err
	})
	return n == 1 && err == nil, err
}

// Delete removes the challenge and its failure count.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.c.R.Del(ctx, s.key(id), s.failuresKey(id)).Err()
}
