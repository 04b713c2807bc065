// Package ratelimit enforces GCRA limits in Redis (go-redis/redis_rate), shared by every
// instance. A refused attempt is a 429 RATE_LIMITED with Retry-After.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"

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
	l *redis_rate.Limiter
	// OnReject, when set, is called for each refusal (metrics).
	OnReject func(name string)
}

// New builds a limiter over the cache.
func New(c *cache.Cache) *Limiter { return &Limiter{c: c, l: redis_rate.NewLimiter(c.R)} }

// Allow counts one event for name+key and returns a RATE_LIMITED error once the limit is
// exceeded. A zero limit disables the check.
func (l *Limiter) Allow(ctx context.Context, name string, lim Limit, key string) error {
	if lim.Rate <= 0 {
		return nil
	}
	res, err := l.l.Allow(ctx, l.c.Key("rl", name, "{"+key+"}"), redis_rate.Limit{Rate: lim.Rate, Burst: lim.Rate, Period: lim.Period})
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
	return l.l.Reset(ctx, l.c.Key("rl", name, "{"+key+"}"))
}
