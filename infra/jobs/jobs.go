// Package jobs runs the background work on River (github.com/riverqueue/river, PostgreSQL
// tables migrated with ours, migration 00046): a job is a row inserted in the transaction of
// the change that needs it, so it exists exactly when that change committed, and River's
// workers (any instance) work it, retrying with the job's policy.
//
// A kind of job is three things, next to the code it belongs to:
//
//	// Args: the job's JSON payload, its kind and its insert options.
//	type SendArgs struct{ OutboxID int64 `json:"outbox_id"` }
//	func (SendArgs) Kind() string { return "mail.send" }
//	func (SendArgs) InsertOpts() river.InsertOpts {
//		return jobs.Unique("mail", 8) // one job per message: a duplicate would send it twice
//	}
//
//	// Worker: Work does one attempt; an error retries it at NextRetry, until MaxAttempts.
//	type Sender struct {
//		river.WorkerDefaults[SendArgs]
//		Clock clock.Clock
//	}
//	func (w *Sender) Work(ctx context.Context, job *river.Job[SendArgs]) error { … }
//	func (w *Sender) NextRetry(job *river.Job[SendArgs]) time.Time {
//		return jobs.Backoff(w.Clock, job.Attempt, 10*time.Second, 30*time.Minute)
//	}
//
//	// In app/compose.go, once, next to the others: the queue and its concurrency, the worker.
//	jobs.Register(a.jobs, jobs.Queue{Name: "mail", Workers: 4}, &mail.Sender{…})
//
//	// In a service, inside Store.Tx: the job commits or rolls back with the change.
//	err := st.Tx(ctx, func(q *db.Queries) error {
//		…
//		return a.jobs.Insert(ctx, q, mail.SendArgs{OutboxID: id}, nil)
//	})
//
// Without a NextRetry of its own a job retries on Policy (exponential backoff with jitter, up
// to a day); without MaxAttempts it is tried DefaultMaxAttempts times, then discarded (and
// counted in flowxi_jobs_failures_total).
package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

// Defaults of the client.
const (
	DefaultMaxAttempts = 25
	// DefaultTimeout bounds one attempt; a job needing longer says so with Timeout.
	DefaultTimeout = time.Minute
	// RescueAfter is how long a job may stay running before River takes it for dead (its
	// process was killed) and retries it: the lease of the old mail and deletion workers.
	RescueAfter  = 5 * time.Minute
	stopDeadline = 20 * time.Second
)

// ErrNotInTx means Insert was given queries that are not bound to a running Store.Tx.
var ErrNotInTx = errors.New("jobs: insert outside a transaction (use the q of Store.Tx)")

// Queue names a queue and how many of its jobs one instance works at once.
type Queue struct {
	Name    string
	Workers int
	// FetchCooldown is the least time between two fetches of the queue's jobs (0: the client's,
	// 100 ms): at most Workers jobs start per cooldown, so a queue of many short jobs (webhook
	// deliveries) wants a short one.
	FetchCooldown time.Duration
}

// Options configure the client.
type Options struct {
	Clock clock.Clock
	Log   *slog.Logger
	// Poll is how often each queue looks for due jobs besides River's notifications
	// (retries and scheduled jobs becoming due); 0 is River's default (1 s).
	Poll time.Duration
	// RescueAfter is how long a job may stay running before River takes it for dead (its
	// process was killed) and retries it; 0 is RescueAfter.
	RescueAfter time.Duration
}

// Jobs is the River client of this instance: one per process, built in app/compose.go.
type Jobs struct {
	client  *river.Client[pgx.Tx]
	workers *river.Workers
	pool    *pgxpool.Pool
	log     *slog.Logger
	mu      sync.Mutex
	queues  map[string]bool
}

// New builds the client over pool (its own small pool: workers and River's listener never take
// a connection the API needs). Workers are added with Register before Run.
func New(pool *pgxpool.Pool, o Options) (*Jobs, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	j := &Jobs{workers: river.NewWorkers(), pool: pool, log: o.Log, queues: map[string]bool{}}
	cfg := &river.Config{
		Logger:               o.Log.With("component", "river"),
		Workers:              j.workers,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		MaxAttempts:          DefaultMaxAttempts,
		RescueStuckJobsAfter: cmp.Or(o.RescueAfter, RescueAfter),
		FetchPollInterval:    o.Poll,
		RetryPolicy:          Policy{Clock: o.Clock},
		Hooks:                []rivertype.Hook{river.HookWorkEndFunc(countFailure)},
		ErrorHandler:         panics{log: o.Log},
	}
	// River refuses a rescue delay below the jobs' default timeout (a job still running would
	// be taken for dead).
	cfg.JobTimeout = min(DefaultTimeout, cfg.RescueStuckJobsAfter)
	if o.Poll > 0 && o.Poll < river.FetchCooldownDefault {
		cfg.FetchCooldown = o.Poll
	}
	// A test's fake clock drives River too (due retries, scheduled jobs); in production River
	// reads the database's clock.
	if _, system := o.Clock.(clock.System); !system && o.Clock != nil {
		cfg.Test.Time = stub{o.Clock}
	}
	c, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	j.client = c
	j.queues[river.QueueDefault] = true
	return j, nil
}

// Register adds a worker for the kind of T, and its queue if new. Call it while composing,
// before Run; a kind registered twice panics (a programming error).
func Register[T river.JobArgs](j *Jobs, q Queue, w river.Worker[T]) {
	river.AddWorker(j.workers, w)
	j.mu.Lock()
	defer j.mu.Unlock()
	if q.Name == "" || j.queues[q.Name] {
		return
	}
	if err := j.client.Queues().Add(q.Name, river.QueueConfig{MaxWorkers: max(q.Workers, 1), FetchCooldown: q.FetchCooldown}); err != nil {
		panic(err)
	}
	j.queues[q.Name] = true
}

// Insert enqueues a job in the transaction q is bound to (the q of Store.Tx), so the job
// commits or rolls back with the change that needs it. opts may be nil (the args' InsertOpts).
// A unique job already queued is not inserted twice.
func (j *Jobs) Insert(ctx context.Context, q *db.Queries, args river.JobArgs, opts *river.InsertOpts) error {
	tx, ok := pg.TxOf(q)
	if !ok {
		return ErrNotInTx
	}
	if _, err := j.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// Unique is the insert options of a job kind of which one job per args may exist at a time
// (queued, running, or completed and still retained): inserting it again is a no-op.
func Unique(queue string, maxAttempts int) river.InsertOpts {
	return river.InsertOpts{Queue: queue, MaxAttempts: maxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Client is the River client, for what Insert does not cover (JobCancelTx, JobGet, …).
func (j *Jobs) Client() *river.Client[pgx.Tx] { return j.client }

// Run works the queues until ctx ends, then stops softly: running jobs finish (for up to
// stopDeadline, then they are cancelled and retried later).
func (j *Jobs) Run(ctx context.Context) {
	if err := j.client.Start(context.WithoutCancel(ctx)); err != nil {
		j.log.Error("jobs: start", "error", err.Error())
		return
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), stopDeadline)
	defer cancel()
	if err := j.client.Stop(sctx); err != nil {
		j.log.Warn("jobs: stop", "error", err.Error())
		_ = j.client.StopAndCancel(context.Background())
	}
}

// Backoff is the next attempt of a job whose attempt-th try just failed: base, 2×base, 4×base,
// … at most cap after now (no jitter: for retries whose schedule is part of the contract).
func Backoff(c clock.Clock, attempt int, base, cap time.Duration) time.Time {
	return c.Now().Add(retry.Backoff(attempt, base, cap))
}

// Policy is the client's retry policy for jobs without a NextRetry of their own: exponential
// backoff from 1 s, doubling, at most a day, with ±10 % jitter so failures spread out.
type Policy struct{ Clock clock.Clock }

// NextRetry implements river.ClientRetryPolicy.
func (p Policy) NextRetry(job *rivertype.JobRow) time.Time {
	c := p.Clock
	if c == nil {
		c = clock.System{}
	}
	d := retry.Backoff(max(len(job.Errors), 1), time.Second, 24*time.Hour)
	jitter := time.Duration(float64(d) * (rand.Float64()*0.2 - 0.1))
	return c.Now().Add(d + jitter)
}

// stub is River's view of the injected clock.
type stub struct{ c clock.Clock }

func (s stub) Now() time.Time { return s.c.Now() }
func (s stub) NowOrNil() *time.Time {
	t := s.c.Now()
	return &t
}

// Unschedule deletes, in q's transaction, the jobs of args' kind whose args include args and
// that are still waiting for their time (state scheduled): a job made pointless by the change
// (a deletion guard whose upload was claimed). It returns how many it deleted.
func (j *Jobs) Unschedule(ctx context.Context, q *db.Queries, args river.JobArgs) (int64, error) {
	tx, ok := pg.TxOf(q)
	if !ok {
		return 0, ErrNotInTx
	}
	b, err := json.Marshal(args)
	if err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM river_job WHERE kind = $1 AND args @> $2::jsonb AND state = 'scheduled'`, args.Kind(), b)
	if err != nil {
		return 0, fmt.Errorf("jobs: unschedule %s: %w", args.Kind(), err)
	}
	return tag.RowsAffected(), nil
}

// PromoteDue makes the jobs due at now (scheduled ones, retries) available to the queues, as
// River's leader does every 5 s, and says how many. Tests moving a fake clock call it (with
// Idle) rather than wait for the leader.
func (j *Jobs) PromoteDue(ctx context.Context, now time.Time) (int, error) {
	res, err := j.client.Driver().GetExecutor().JobSchedule(ctx, &riverdriver.JobScheduleParams{Max: 10000, Now: &now})
	return len(res), err
}

// Idle reports whether no job due at now is waiting or running.
func (j *Jobs) Idle(ctx context.Context, now time.Time) (bool, error) {
	var busy bool
	err := j.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM river_job
		WHERE state IN ('available', 'running') AND scheduled_at <= $1)`, now).Scan(&busy)
	return !busy, err
}
