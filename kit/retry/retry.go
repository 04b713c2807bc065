// Package retry holds the backoff shared by the workers that retry failed work (mail outbox,
// storage deletions): each keeps its own base and cap, the doubling is written once.
package retry

import "time"

// Backoff is the wait after the n-th failed attempt: base, 2×base, 4×base, … at most max.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
