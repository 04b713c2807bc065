package sema

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A full Sema makes the next caller wait until its context ends (holding nothing), and lets it
// in once a slot is released.
func TestAcquireWaitsForASlotOrTheContext(t *testing.T) {
	s := New(2)
	for i := 0; i < 2; i++ {
		if err := s.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("full: %v, want the context's error", err)
	}
	if len(s) != 2 {
		t.Fatalf("%d held, want 2", len(s))
	}
	s.Release()
	if err := s.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
}
