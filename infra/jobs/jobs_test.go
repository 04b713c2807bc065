package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// noteArgs is a test job: its worker records the notes it is given, once each.
type noteArgs struct {
	Note string `json:"note"`
	Fail bool   `json:"fail"`
}

func (noteArgs) Kind() string { return "test.note" }
func (noteArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "test", UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type noteWorker struct {
	river.WorkerDefaults[noteArgs]
	mu   sync.Mutex
	seen map[string]int
	done chan string
}

func (w *noteWorker) Work(_ context.Context, job *river.Job[noteArgs]) error {
	w.mu.Lock()
	w.seen[job.Args.Note]++
	w.mu.Unlock()
	w.done <- job.Args.Note
	if job.Args.Fail {
		return river.JobCancel(errors.New("refused"))
	}
	return nil
}

func (w *noteWorker) count(note string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[note]
}

// client builds a second River client over the env's database working only the "test" queue
// (the app's own client does not work it), with the note worker.
func client(t *testing.T, env *testkit.Env) (*jobs.Jobs, *noteWorker) {
	t.Helper()
	j, err := jobs.New(env.DB(), jobs.Options{Clock: env.Clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := &noteWorker{seen: map[string]int{}, done: make(chan string, 16)}
	jobs.Register(j, jobs.Queue{Name: "test", Workers: 2}, w)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); j.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	return j, w
}

func wait(t *testing.T, w *noteWorker, note string) {
	t.Helper()
	for {
		select {
		case got := <-w.done:
			if got == note {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("job %q not worked within 10s", note)
		}
	}
}

// A job exists exactly when the transaction that inserted it committed; a unique job inserted
// twice is one job; an insert outside a transaction is refused.
func TestInsertIsTransactional(t *testing.T) {
	env := testkit.New(t)
	j, w := client(t, env)
	ctx := context.Background()
	insert := func(note string, rollback bool) error {
		return env.Store().Tx(ctx, func(q *db.Queries) error {
			if err := j.Insert(ctx, q, noteArgs{Note: note}, nil); err != nil {
				return err
			}
			if rollback {
				return errors.New("rolled back")
			}
			return nil
		})
	}
	if err := insert("rolled-back", true); err == nil || err.Error() != "rolled back" {
		t.Fatal(err)
	}
	for range 2 {
		if err := insert("committed", false); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, w, "committed")
	if err := j.Insert(ctx, env.Store().Q, noteArgs{Note: "outside"}, nil); !errors.Is(err, jobs.ErrNotInTx) {
		t.Fatalf("insert outside a transaction: %v", err)
	}
	if n := env.Count("SELECT count(*) FROM river_job WHERE kind = 'test.note' AND args->>'note' <> 'committed'"); n != 0 {
		t.Fatalf("%d jobs of a rolled-back or refused insert", n)
	}
	if n := env.Count("SELECT count(*) FROM river_job WHERE kind = 'test.note' AND args->>'note' = 'committed'"); n != 1 {
		t.Fatalf("unique job inserted %d times", n)
	}
	if n := w.count("committed"); n != 1 {
		t.Fatalf("worked %d times", n)
	}
}

// A job whose worker gives up (river.JobCancel) is counted as a cancelled failure of its queue
// and kind, and is not tried again.
func TestFailuresAreCounted(t *testing.T) {
	env := testkit.New(t)
	j, w := client(t, env)
	ctx := context.Background()
	cancelled := metrics.JobFailures.WithLabelValues("test", "test.note", "cancelled")
	before := testutil.ToFloat64(cancelled)
	if err := env.Store().Tx(ctx, func(q *db.Queries) error { return j.Insert(ctx, q, noteArgs{Note: "refused", Fail: true}, nil) }); err != nil {
		t.Fatal(err)
	}
	wait(t, w, "refused")
	for deadline := time.Now().Add(10 * time.Second); env.Count("SELECT count(*) FROM river_job WHERE kind = 'test.note' AND state = 'cancelled'") != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("job not cancelled")
		}
	}
	if got := testutil.ToFloat64(cancelled) - before; got != 1 {
		t.Fatalf("cancelled failures moved by %v", got)
	}
	if n := w.count("refused"); n != 1 {
		t.Fatalf("worked %d times", n)
	}
}
