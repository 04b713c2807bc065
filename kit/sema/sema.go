// Package sema bounds how many callers run a costly section at once (argon2id hashes, full
// image decodes): the others queue, for no longer than their request lives.
package sema

import "context"

// A Sema lets at most its capacity of holders in at once.
type Sema chan struct{}

// New is a Sema of n slots.
func New(n int) Sema { return make(Sema, n) }

// Acquire takes a slot, waiting until one is free or ctx ends (then it returns ctx's error and
// holds nothing). Each successful Acquire is followed by one Release.
func (s Sema) Acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release gives a slot back.
func (s Sema) Release() { <-s }
