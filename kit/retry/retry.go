// Package retry holds what the background workers share: the backoff of the jobs that retry
// failed work (mail.send, storage.delete and the jobs' default policy, infra/jobs; each keeps its
// own base and cap, the doubling is written once) and the loop of those that run on an interval
// (audit sealer, ledger sweeps).
package retry

import (
	"context"
	"time"
)

// Every runs fn at once, then every interval, until ctx ends. fn reports its own errors: a
// worker's failure is logged and tried again on the next tick, never fatal.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Backoff is the wait after the n-th failed attempt: base, 2×base, 4×base, … at most max.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
