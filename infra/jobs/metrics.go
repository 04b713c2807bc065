package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/flowxi/backend/infra/metrics"
)

// States are the job states the depth gauge reports for every queue (0 when none).
var States = []string{"available", "scheduled", "retryable", "running", "discarded"}

// Depth counts the jobs of every queue this instance works, by state.
func (j *Jobs) Depth(ctx context.Context) ([]metrics.JobCount, error) {
	j.mu.Lock()
	var out []metrics.JobCount
	index := map[[2]string]int{}
	for q := range j.queues {
		for _, s := range States {
			index[[2]string{q, s}] = len(out)
			out = append(out, metrics.JobCount{Queue: q, State: s})
		}
	}
	j.mu.Unlock()
	rows, err := j.pool.Query(ctx, `SELECT queue, state::text, count(*) FROM river_job
		WHERE state = ANY($1::river_job_state[]) GROUP BY queue, state`, States)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var q, s string
		var n int64
		if err := rows.Scan(&q, &s, &n); err != nil {
			return nil, err
		}
		if i, ok := index[[2]string{q, s}]; ok {
			out[i].N = float64(n)
		} else {
			out = append(out, metrics.JobCount{Queue: q, State: s, N: float64(n)})
		}
	}
	return out, rows.Err()
}

// ExposeDepth makes /metrics report Depth (read at each scrape, within a second).
func (j *Jobs) ExposeDepth() {
	metrics.SetJobDepth(func() []metrics.JobCount {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		out, err := j.Depth(ctx)
		if err != nil {
			j.log.Warn("jobs: depth", "error", err.Error())
		}
		return out
	})
}

// countFailure is the hook after every attempt: failures are counted by outcome.
func countFailure(_ context.Context, job *rivertype.JobRow, err error) error {
	if err == nil {
		return nil
	}
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	outcome := "retry"
	switch {
	case errors.As(err, &snooze):
		return err
	case errors.As(err, &cancel):
		outcome = "cancelled"
	case job.Attempt >= job.MaxAttempts:
		outcome = "discarded"
	}
	metrics.JobFailures.WithLabelValues(job.Queue, job.Kind, outcome).Inc()
	return err
}

// panics counts and logs a worker's panic (River recovers it and retries the job).
type panics struct{ log *slog.Logger }

func (panics) HandleError(context.Context, *rivertype.JobRow, error) *river.ErrorHandlerResult {
	return nil
}

func (p panics) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	metrics.JobFailures.WithLabelValues(job.Queue, job.Kind, "panic").Inc()
	p.log.ErrorContext(ctx, "job panicked", "job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt, "panic", v, "trace", trace)
	return nil
}
