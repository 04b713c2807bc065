// Package ratelimit enforces GCRA limits in Redis (go-redis/redis_rate), shared by every
// instance. A refused attempt is a 429 RATE_LIMITED with Retry-After.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/kit/apierr"
)

// Limit is a number of events per period.
type Limit struct {
	Rate   int
	Period time.Duration
}

// Per builds a limit.
func Per(rate int, period time.Duration) Limit { return Limit{Rate: rate, Period: period} }

// Limiter checks limits by key.
type Limiter struct {
	c *cache.Cache
	// OnReject, when set, is called for each refusal (metrics).
	OnReject func(name string)
}

// New builds a limiter over the cache.
func New(c *cache.Cache) *Limiter { return &Limiter{c: c} }

// Allow counts one event for name+key and returns a RATE_LIMITED error once the limit is
// exceeded. A zero limit disables the check. The count is a durable write (cache.Durably): a
// Redis failover cannot forget it, and when Redis cannot count the attempt is refused 503.
func (l *Limiter) Allow(ctx context.Context, name string, lim Limit, key string) error {
	if lim.Rate <= 0 {
		return nil
	}
	k := l.key(name, key)
	var res *redis_rate.Result
	err := l.c.Durably(ctx, k, func(r redis.Cmdable) error {
		var err error
		res, err = redis_rate.NewLimiter(r).Allow(ctx, k, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Rate, Period: lim.Period})
		return err
	})
	if err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	if res.Allowed == 0 {
		if l.OnReject != nil {
			l.OnReject(name)
		}
		ra := res.RetryAfter
		if ra < time.Second {
			ra = time.Second
		}
		return apierr.RateLimited(ra)
	}
	return nil
}

// Reset clears the counter for name+key (e.g. after a success that should not count).
func (l *Limiter) Reset(ctx context.Context, name, key string) error {
	return redis_rate.NewLimiter(l.c.R).Reset(ctx, l.key(name, key))
}

// key is the limit's Redis key: one key, in the hash tag of key.
func (l *Limiter) key(name, key string) string { return l.c.Key("rl", name, cache.Tag(key)) }
