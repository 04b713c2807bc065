// Package deletions makes the deletion of storage objects durable (migration 00039). Object
// storage and the database cannot share a transaction, so every object that a transaction may
// leave unreferenced is written down in that database first, with the River job (storage.delete)
// that deletes it:
//
//   - Guard, before an upload writes its object (Put does both): delete it after UploadGrace
//     unless claimed (the row, and a job scheduled for then);
//   - Claim, in the transaction that starts referring to it (it fails if the guard is gone or
//     a job has taken it; the guard's job is dropped with it);
//   - Schedule, in the transaction that stops referring to an object: delete it now (the row,
//     and a job due after Backoff(1));
//   - DeleteNow, after that transaction (or for an upload no transaction came to refer to),
//     tries at once, so the answer comes once the object is gone; what fails is left to the job,
//     due after Backoff(1).
//
// Upload runs the first three for an upload: Put, then the caller's transaction, which claims
// the object once its rows are written, then DeleteNow if anything failed.
//
// The job retries with Backoff on any instance, for as long as storage refuses (MaxAttempts);
// a process dying between any two steps leaves a row and a job, never an orphan.
package deletions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

const (
	// UploadGrace is how long an upload has from Guard to Claim; far beyond any request timeout.
	UploadGrace = time.Hour
	// Lease reserves a row for the job deleting its object (a job running longer is rescued
	// by River after jobs.RescueAfter, when the lease is over too).
	Lease = jobs.RescueAfter
	// QueueName is the River queue of the deletions.
	QueueName = "storage"
	// MaxAttempts: at most an hour apart, that is years of a storage refusing deletes; the row
	// stays (and flowxi_jobs{state="discarded"} shows the job) if even that runs out.
	MaxAttempts   = 10000
	backoffBase   = 10 * time.Second
	backoffCap    = time.Hour
	deleteTimeout = 30 * time.Second
)

// ErrGuardLost means the upload took longer than UploadGrace: its object may already be gone.
var ErrGuardLost = errors.New("deletions: the upload's guard expired before its transaction")

// DeleteArgs is the job that deletes one object once its row is due.
type DeleteArgs struct {
	Key string `json:"key"`
}

// Kind implements river.JobArgs.
func (DeleteArgs) Kind() string { return "storage.delete" }

// InsertOpts: one job per key at a time (its row is the one record; a second job would only
// contend for it).
func (DeleteArgs) InsertOpts() river.InsertOpts { return jobs.Unique(QueueName, MaxAttempts) }

// Queue writes the deletions down and works them off (it is the storage.delete worker).
type Queue struct {
	river.WorkerDefaults[DeleteArgs]
	st      *pg.Store
	jobs    *jobs.Jobs
	objects blob.Storage
	clock   clock.Clock
	log     *slog.Logger
}

// New builds the queue; its jobs are inserted on j (Register adds its worker).
func New(st *pg.Store, j *jobs.Jobs, objects blob.Storage, c clock.Clock, log *slog.Logger) *Queue {
	return &Queue{st: st, jobs: j, objects: objects, clock: c, log: log}
}

// Register adds d as the worker of the storage.delete jobs, on its queue.
func Register(j *jobs.Jobs, d *Queue) { jobs.Register(j, jobs.Queue{Name: QueueName, Workers: 2}, d) }

// Put writes an object under a guard: unless a transaction claims key (Claim) within
// UploadGrace, it is deleted. A failed write removes whatever it left, and the guard.
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

// Upload stores data under key the one way an upload does: Put (under a guard), then fn in the
// transaction that starts referring to the object, which claims it (Claim) once fn has
// succeeded. If anything fails the object is deleted at once (DeleteNow), so a refused or
// failed upload leaves nothing behind; fn's error is returned as it is.
func (d *Queue) Upload(ctx context.Context, key string, data []byte, contentType string, fn func(q *db.Queries) error) error {
	if err := d.Put(ctx, key, bytes.NewReader(data), int64(len(data)), contentType); err != nil {
		return fmt.Errorf("deletions: upload %s: %w", key, err)
	}
	err := d.st.Tx(ctx, func(q *db.Queries) error {
		if err := fn(q); err != nil {
			return err
		}
		return d.Claim(ctx, q, key)
	})
	if err != nil {
		d.DeleteNow(ctx, key)
	}
	return err
}

// Guard records key, and the job that deletes it after UploadGrace, before its object is
// written (Put does both).
func (d *Queue) Guard(ctx context.Context, key string) error {
	now := d.clock.Now()
	err := d.st.Tx(ctx, func(q *db.Queries) error {
		if err := q.GuardObject(ctx, db.GuardObjectParams{Key: key, NotBefore: now.Add(UploadGrace), Now: now}); err != nil {
			return err
		}
		return d.jobs.Insert(ctx, q, DeleteArgs{Key: key}, &river.InsertOpts{ScheduledAt: now.Add(UploadGrace)})
	})
	if err != nil {
		return fmt.Errorf("deletions: guard: %w", err)
	}
	return nil
}

// Claim removes key's guard, and its job, inside the transaction (q) that starts referring to it.
func (d *Queue) Claim(ctx context.Context, q *db.Queries, key string) error {
	n, err := q.ClaimGuardedObject(ctx, db.ClaimGuardedObjectParams{Key: key, Now: d.clock.Now()})
	if err != nil {
		return fmt.Errorf("deletions: claim: %w", err)
	}
	if n != 1 {
		return ErrGuardLost
	}
	if _, err := d.jobs.Unschedule(ctx, q, DeleteArgs{Key: key}); err != nil {
		return fmt.Errorf("deletions: claim: %w", err)
	}
	return nil
}

// Schedule queues key, due now, inside the transaction (q) that stops referring to it; the
// caller calls DeleteNow once it has committed, and the job, due after Backoff(1), deletes the
// object if that fails or never comes (the process died).
func (d *Queue) Schedule(ctx context.Context, q *db.Queries, key string) error {
	now := d.clock.Now()
	if err := q.ScheduleObjectDeletion(ctx, db.ScheduleObjectDeletionParams{Key: key, Now: now}); err != nil {
		return fmt.Errorf("deletions: schedule: %w", err)
	}
	if err := d.jobs.Insert(ctx, q, DeleteArgs{Key: key}, &river.InsertOpts{ScheduledAt: now.Add(Backoff(1))}); err != nil {
		return fmt.Errorf("deletions: schedule: %w", err)
	}
	return nil
}

// DeleteNow deletes a queued (or guarded, unclaimed) object at once, even if the request was
// cancelled, and drops its row and its waiting job; if storage refuses, the row records the
// error and a job due after Backoff(1) takes over.
func (d *Queue) DeleteNow(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	err := d.delete(ctx, key)
	if err == nil {
		err = d.st.Tx(ctx, func(q *db.Queries) error {
			if err := q.ObjectDeleted(ctx, key); err != nil {
				return err
			}
			_, err := d.jobs.Unschedule(ctx, q, DeleteArgs{Key: key})
			return err
		})
		if err == nil {
			metrics.StorageDeletions.WithLabelValues("deleted").Inc()
			return
		}
	}
	retryAt := d.clock.Now().Add(Backoff(1))
	d.failed(ctx, key, 0, retryAt, err)
	// A guard's job would only come after UploadGrace: one due at the retry replaces it.
	uerr := d.st.Tx(ctx, func(q *db.Queries) error {
		if _, err := d.jobs.Unschedule(ctx, q, DeleteArgs{Key: key}); err != nil {
			return err
		}
		return d.jobs.Insert(ctx, q, DeleteArgs{Key: key}, &river.InsertOpts{ScheduledAt: retryAt})
	})
	if uerr != nil {
		// The guard's job still deletes it after UploadGrace.
		d.log.ErrorContext(ctx, "storage deletion not rescheduled", "key", key, "error", uerr.Error())
	}
}

// delete removes one object, within deleteTimeout.
func (d *Queue) delete(ctx context.Context, key string) error {
	dctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	return d.objects.Delete(dctx, key)
}

// failed records a failed attempt on key's row: its error and when it is due again.
func (d *Queue) failed(ctx context.Context, key string, attempt int, retryAt time.Time, err error) {
	metrics.StorageDeletions.WithLabelValues("retry").Inc()
	d.log.WarnContext(ctx, "storage object not deleted yet; retried later", "key", key, "attempts", attempt, "error", err.Error())
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	if uerr := d.st.Q.ObjectDeletionFailed(ctx, db.ObjectDeletionFailedParams{Key: key, RetryAt: retryAt, LastError: &msg}); uerr != nil {
		// The lease (or the guard's grace) brings the row back anyway.
		d.log.ErrorContext(ctx, "storage deletion not rescheduled", "key", key, "error", uerr.Error())
	}
}

// Backoff is the wait after the n-th failed attempt: 10 s, 20 s, 40 s, … at most an hour.
func Backoff(n int) time.Duration { return retry.Backoff(n, backoffBase, backoffCap) }

// NextRetry is Backoff after the attempt that just failed.
func (d *Queue) NextRetry(job *river.Job[DeleteArgs]) time.Time {
	return d.clock.Now().Add(Backoff(job.Attempt))
}

// Work is one attempt of a storage.delete job: it leases key's due row, deletes the object and
// the row. No row: claimed or deleted already, nothing to do; a row not due yet (leased by an
// attempt whose process died, or rescheduled): it waits until then.
func (d *Queue) Work(ctx context.Context, job *river.Job[DeleteArgs]) error {
	key, now := job.Args.Key, d.clock.Now()
	attempts, err := d.st.Q.LeaseObjectDeletion(ctx, db.LeaseObjectDeletionParams{Key: key, Now: now, LeaseUntil: now.Add(Lease)})
	if pg.IsNotFound(err) {
		due, err := d.st.Q.ObjectDeletionDue(ctx, key)
		if pg.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return river.JobSnooze(max(due.Sub(now), time.Second))
	}
	if err != nil {
		return err
	}
	if err = d.delete(ctx, key); err == nil {
		if err = d.st.Q.ObjectDeleted(ctx, key); err == nil {
			metrics.StorageDeletions.WithLabelValues("deleted").Inc()
			return nil
		}
	}
	d.failed(ctx, key, int(attempts), d.NextRetry(job), err)
	return err
}
