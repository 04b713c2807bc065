// Package deletions makes the deletion of storage objects durable (migration 00039). Object
// storage and the database cannot share a transaction, so every object that a transaction may
// leave unreferenced is written down in that database first:
//
//   - Guard, before an upload writes its object (Put does both): delete it after UploadGrace
//     unless claimed;
//   - Claim, in the transaction that starts referring to it (it fails if the guard is gone);
//   - Schedule, in the transaction that stops referring to an object: delete it now;
//   - DeleteNow, after the transaction, tries at once; the worker (Run) retries whatever is left,
//     with backoff, on any instance (FOR UPDATE SKIP LOCKED and a lease).
//
// A process dying between any two steps leaves a row, never an orphan.
package deletions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

const (
	// UploadGrace is how long an upload has from Guard to Claim; far beyond any request timeout.
	UploadGrace = time.Hour
	// Lease reserves a row for the worker deleting its object.
	Lease         = 5 * time.Minute
	backoffBase   = 10 * time.Second
	backoffCap    = time.Hour
	batch         = 50
	deleteTimeout = 30 * time.Second
)

// ErrGuardLost means the upload took longer than UploadGrace: its object may already be gone.
var ErrGuardLost = errors.New("deletions: the upload's guard expired before its transaction")

// Queue writes and works off the deletions.
type Queue struct {
	q       *db.Queries
	objects blob.Storage
	clock   clock.Clock
	log     *slog.Logger
	every   time.Duration
}

// New builds the queue; the worker polls every interval.
func New(q *db.Queries, objects blob.Storage, c clock.Clock, log *slog.Logger, every time.Duration) *Queue {
	if every <= 0 {
		every = time.Minute
	}
	return &Queue{q: q, objects: objects, clock: c, log: log, every: every}
}

// Put writes an object under a guard: unless a transaction claims key (Claim) within
// UploadGrace, the worker deletes it. A failed write removes whatever it left, and the guard.
func (d *Queue) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := d.Guard(ctx, key); err != nil {
		return err
	}
	if err := d.objects.Put(ctx, key, r, size, contentType); err != nil {
		d.DeleteNow(ctx, key)
		return err
	}
	return nil
}

// Guard records key, in its own statement, before its object is written (Put does both).
func (d *Queue) Guard(ctx context.Context, key string) error {
	now := d.clock.Now()
	if err := d.q.GuardObject(ctx, db.GuardObjectParams{Key: key, NotBefore: now.Add(UploadGrace), Now: now}); err != nil {
		return fmt.Errorf("deletions: guard: %w", err)
	}
	return nil
}

// Claim removes key's guard inside the transaction (q) that starts referring to it.
func (d *Queue) Claim(ctx context.Context, q *db.Queries, key string) error {
	n, err := q.ClaimGuardedObject(ctx, db.ClaimGuardedObjectParams{Key: key, Now: d.clock.Now()})
	if err != nil {
		return fmt.Errorf("deletions: claim: %w", err)
	}
	if n != 1 {
		return ErrGuardLost
	}
	return nil
}

// Schedule queues key, inside the transaction (q) that stops referring to it.
func (d *Queue) Schedule(ctx context.Context, q *db.Queries, key string) error {
	if err := q.ScheduleObjectDeletion(ctx, db.ScheduleObjectDeletionParams{Key: key, Now: d.clock.Now()}); err != nil {
		return fmt.Errorf("deletions: schedule: %w", err)
	}
	return nil
}

// DeleteNow deletes a queued (or guarded, unclaimed) object at once, even if the request was
// cancelled; on failure the row stays, due soon, for the worker.
func (d *Queue) DeleteNow(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	d.attempt(ctx, key, 1)
}

// attempt deletes one object and settles its row.
func (d *Queue) attempt(ctx context.Context, key string, attempts int32) bool {
	dctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	err := d.objects.Delete(dctx, key)
	cancel()
	if err == nil {
		if err = d.q.ObjectDeleted(ctx, key); err == nil {
			metrics.StorageDeletions.WithLabelValues("deleted").Inc()
			return true
		}
	}
	metrics.StorageDeletions.WithLabelValues("retry").Inc()
	d.log.WarnContext(ctx, "storage object not deleted yet; retried later", "key", key, "attempts", attempts, "error", err.Error())
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	retry := d.clock.Now().Add(Backoff(int(attempts)))
	if uerr := d.q.ObjectDeletionFailed(ctx, db.ObjectDeletionFailedParams{Key: key, RetryAt: retry, LastError: &msg}); uerr != nil {
		// The lease (or the guard's grace) brings the row back anyway.
		d.log.ErrorContext(ctx, "storage deletion not rescheduled", "key", key, "error", uerr.Error())
	}
	return false
}

// Backoff is the wait after the n-th failed attempt: 10 s, 20 s, 40 s, … at most an hour.
func Backoff(n int) time.Duration { return retry.Backoff(n, backoffBase, backoffCap) }

// Run works off due deletions until ctx ends.
func (d *Queue) Run(ctx context.Context) {
	retry.Every(ctx, d.every, func(ctx context.Context) {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("storage deletions", "error", err.Error())
		}
	})
}

// RunOnce leases the due rows, batch after batch, deletes their objects and returns how many
// were deleted.
func (d *Queue) RunOnce(ctx context.Context) (int, error) {
	deleted := 0
	for {
		now := d.clock.Now()
		rows, err := d.q.LeaseObjectDeletions(ctx, db.LeaseObjectDeletionsParams{Now: now, LeaseUntil: now.Add(Lease), MaxRows: batch})
		if err != nil {
			return deleted, fmt.Errorf("deletions: lease: %w", err)
		}
		for _, r := range rows {
			if d.attempt(ctx, r.Key, r.Attempts) {
				deleted++
			}
		}
		if len(rows) < batch {
			return deleted, nil
		}
	}
}
