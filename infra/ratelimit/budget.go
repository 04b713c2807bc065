package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/kit/apierr"
)

// Budget bounds the wrong guesses of one secret (a password, a second factor, an e-mailed code)
// per key — an account or an e-mail address, never a client address — over a sliding window.
// It is the one shape of every per-account guessing limit: login per e-mail, 2FA per account,
// password-reset and registration codes per e-mail.
//
// A slot is reserved before the secret is checked and released when the guess was right, so at
// most Max wrong guesses are ever checked per window even when many requests race; a slot that
// is neither released nor failed (the request broke off) stays counted until it leaves the
// window. Once Max slots are taken, Reserve answers 429 RATE_LIMITED with the time until the
// oldest leaves the window — before any lookup, so the refusal is the same whether the key
// belongs to an account or not. A success frees its own slot only: it never resets failures
// made by others. Times are the caller's clock, stored as sorted-set scores.
type Budget struct {
	c        *cache.Cache
	name     string
	max      int
	window   time.Duration
	onReject func(name string)
}

// Default budget: 10 wrong guesses per 15 minutes (DESIGN §4).
const (
	DefaultBudgetMax    = 10
	DefaultBudgetWindow = 15 * time.Minute
)

// Budget builds the budget called name (a Redis key part and the metrics label). A max or
// window of zero takes the default, so a budget is never off by omission.
func (l *Limiter) Budget(name string, max int, window time.Duration) *Budget {
	if max <= 0 {
		max = DefaultBudgetMax
	}
	if window <= 0 {
		window = DefaultBudgetWindow
	}
	return &Budget{c: l.c, name: name, max: max, window: window, onReject: l.OnReject}
}

// Max is the number of wrong guesses per window; Window the window.
func (b *Budget) Max() int { return b.max }

// Window is the sliding window of the budget.
func (b *Budget) Window() time.Duration { return b.window }

// Slot is one reserved guess.
type Slot struct {
	b      *Budget
	key    string
	member string
	done   bool
}

var reserveScript = redis.NewScript(`
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 1 then wait = 1 end
  return wait
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
`)

// failScript keeps the failed slot and reports whether the owner must be told: once per window,
// when the count reaches the maximum.
var failScript = redis.NewScript(`
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= max then
  local notified = tonumber(redis.call('GET', KEYS[2]) or '0')
  if notified <= now then
    redis.call('SET', KEYS[2], now + window, 'PX', window)
    return {n, 1}
  end
end
return {n, 0}
`)

// keys are the sorted set of slots and the notification mark, in one hash tag.
func (b *Budget) keys(key string) []string {
	tag := cache.Tag(key)
	return []string{b.c.Key("budget", b.name, tag), b.c.Key("budget", b.name+".notified", tag)}
}

// Reserve takes a slot for one guess under key, or answers 429 RATE_LIMITED.
func (b *Budget) Reserve(ctx context.Context, key string, now time.Time) (*Slot, error) {
	m := make([]byte, 8)
	if _, err := rand.Read(m); err != nil {
		return nil, err
	}
	s := &Slot{b: b, key: key, member: hex.EncodeToString(m)}
	k := b.keys(key)[0]
	var wait int64
	err := b.c.Durably(ctx, k, func(r redis.Cmdable) error {
		var err error
		wait, err = reserveScript.Run(ctx, r, []string{k}, now.UnixMilli(), b.window.Milliseconds(), b.max, s.member).Int64()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ratelimit: budget %s: %w", b.name, err)
	}
	if wait > 0 {
		if b.onReject != nil {
			b.onReject(b.name)
		}
		return nil, apierr.RateLimited(time.Duration(wait) * time.Millisecond)
	}
	return s, nil
}

// Release frees the slot of a right guess (or of one that was never checked). It does nothing
// after Fail or a previous Release.
func (s *Slot) Release(ctx context.Context) {
	if s == nil || s.done {
		return
	}
	s.done = true
	_ = s.b.c.R.ZRem(context.WithoutCancel(ctx), s.b.keys(s.key)[0], s.member).Err()
}

// Fail keeps the slot as a wrong guess; notify is true for the failure that exhausts the budget
// (once per window), when the owner is to be told.
func (s *Slot) Fail(ctx context.Context, now time.Time) (notify bool, err error) {
	s.done = true
	ctx = context.WithoutCancel(ctx)
	keys := s.b.keys(s.key)
	var res []int64
	err = s.b.c.Durably(ctx, keys[0], func(r redis.Cmdable) error {
		res, err = failScript.Run(ctx, r, keys, now.UnixMilli(), s.b.window.Milliseconds(), s.b.max).Int64Slice()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ratelimit: budget %s: %w", s.b.name, err)
	}
	return res[1] == 1, nil
}

// Unnotify forgets the notification mark when the notice could not be committed, so the next
// failure tries again.
func (s *Slot) Unnotify(ctx context.Context) {
	_ = s.b.c.R.Del(context.WithoutCancel(ctx), s.b.keys(s.key)[1]).Err()
}
