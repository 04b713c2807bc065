package twofactor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/services/apierr"
	"github.com/flowxi/backend/services/cache"
)

// failureWindow counts wrong second factors per account over a sliding window, whatever the
// flow (login challenges, step-up, enable, disable, password reset), so neither a new login
// nor a new challenge resets it. Times are the service clock's, stored as sorted-set scores.
//
// A slot is reserved before a code is checked and released when the code was right: at most
// `max` wrong codes are ever checked per window, even when many requests race.
type failureWindow struct {
	c      *cache.Cache
	max    int
	window time.Duration
}

// slot is one reserved attempt.
type slot struct {
	userID int64
	member string
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

// failScript keeps the failed slot and reports whether the owner must be e-mailed: once per
// window, when the count reaches the maximum.
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

func (f *failureWindow) keys(userID int64) []string {
	tag := "{u" + strconv.FormatInt(userID, 10) + "}"
	return []string{f.c.Key("twofa", "failures", tag), f.c.Key("twofa", "notified", tag)}
}

// reserve takes a slot for one attempt, or answers 429 RATE_LIMITED with the time until the
// oldest failure leaves the window.
func (f *failureWindow) reserve(ctx context.Context, userID int64, now time.Time) (slot, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return slot{}, err
	}
	s := slot{userID: userID, member: hex.EncodeToString(b)}
	wait, err := reserveScript.Run(ctx, f.c.R, f.keys(userID)[:1],
		now.UnixMilli(), f.window.Milliseconds(), f.max, s.member).Int64()
	if err != nil {
		return slot{}, fmt.Errorf("twofactor: failure window: %w", err)
	}
	if wait > 0 {
		return slot{}, apierr.RateLimited(time.Duration(wait) * time.Millisecond)
	}
	return s, nil
}

// release frees a slot whose code was right (or never checked).
func (f *failureWindow) release(ctx context.Context, s slot) {
	if s.member != "" {
		_ = f.c.R.ZRem(context.WithoutCancel(ctx), f.keys(s.userID)[0], s.member).Err()
	}
}

// fail keeps the slot as a failure; notify is true for the failure that locks the account
// (once per window).
func (f *failureWindow) fail(ctx context.Context, s slot, now time.Time) (notify bool, err error) {
	res, err := failScript.Run(context.WithoutCancel(ctx), f.c.R, f.keys(s.userID),
		now.UnixMilli(), f.window.Milliseconds(), f.max).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("twofactor: failure window: %w", err)
	}
	return res[1] == 1, nil
}

// unnotify forgets the notification mark when the e-mail could not be committed, so the next
// failure tries again.
func (f *failureWindow) unnotify(ctx context.Context, userID int64) {
	_ = f.c.R.Del(context.WithoutCancel(ctx), f.keys(userID)[1]).Err()
}
