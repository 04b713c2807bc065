// Package clock gives services the current time through an interface so tests can move it.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface{ Now() time.Time }

// System is the real clock (UTC, microsecond precision like PostgreSQL).
type System struct{}

// Now returns the current UTC time truncated to microseconds.
func (System) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Fake is a settable clock for tests. The zero value starts at the real time.
type Fake struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns real time shifted by the accumulated offset, so TTLs in Redis still elapse
// naturally while tests can jump ahead.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().UTC().Add(f.offset).Truncate(time.Microsecond)
}

// Advance moves the clock forward.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.offset += d
	f.mu.Unlock()
}
