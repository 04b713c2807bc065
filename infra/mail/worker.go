package mail

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

// Delivery policy of the outbox.
const (
	// Queue is the River queue of the e-mails; QueueWorkers of them are sent at once per instance.
	Queue        = "mail"
	QueueWorkers = 4
	// MaxAttempts is how many times a message is tried before it is marked failed and wiped.
	MaxAttempts = 8
	sendTimeout = time.Minute
	backoffBase = 10 * time.Second
	backoffCap  = 30 * time.Minute
)

// SendArgs is the job that delivers one outbox row (the row keeps the encrypted body; the job
// only its id). Enqueue inserts it in the transaction that writes the row.
type SendArgs struct {
	OutboxID int64 `json:"outbox_id"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts: one job per message (a duplicate job would send it twice), MaxAttempts tries.
func (SendArgs) InsertOpts() river.InsertOpts { return jobs.Unique(Queue, MaxAttempts) }

// Sender works the mail.send jobs: it decrypts the row, hands it to the transport and marks it
// sent (wiping its body), or records the failed attempt and lets River retry it with Backoff;
// after MaxAttempts it marks the row failed. Delivery is at-least-once: a process killed
// between the SMTP answer and the mark sends the message again once River rescues the job
// (jobs.RescueAfter); a job run again after the mark sends nothing (the row is no longer pending).
type Sender struct {
	river.WorkerDefaults[SendArgs]
	Q         *db.Queries
	Outbox    *Outbox
	Transport Transport
	Clock     clock.Clock
	Log       *slog.Logger
	From      string
}

// Timeout bounds one delivery attempt.
func (w *Sender) Timeout(*river.Job[SendArgs]) time.Duration { return sendTimeout }

// NextRetry is Backoff after the attempt that just failed.
func (w *Sender) NextRetry(job *river.Job[SendArgs]) time.Time {
	return w.Clock.Now().Add(Backoff(job.Attempt))
}

// Work makes one delivery attempt.
func (w *Sender) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	r, err := w.Q.GetMail(ctx, job.Args.OutboxID)
	if pg.IsNotFound(err) || (err == nil && r.Status != "pending") {
		return nil // deleted, or already sent or failed: nothing to send again
	}
	if err != nil {
		return err
	}
	body, err := w.Outbox.Open(r.ToAddress, r.Template, r.BodyEnc)
	if err != nil {
		// Undecryptable (wrong key, tampered): retrying cannot help.
		w.record(ctx, job, r, "body cannot be decrypted", true)
		return river.JobCancel(err)
	}
	env := Envelope{ID: r.ID, From: w.From, To: r.ToAddress, Template: r.Template, Locale: r.Locale, Subject: r.Subject, Body: body}
	if err := w.Transport.Send(ctx, []Envelope{env})[0]; err != nil {
		w.record(ctx, job, r, err.Error(), job.Attempt >= job.MaxAttempts)
		return err
	}
	metrics.MailSent.WithLabelValues("sent").Inc()
	// Recorded even while shutting down: the message has left.
	if err := w.Q.MarkMailSent(context.WithoutCancel(ctx), db.MarkMailSentParams{ID: r.ID, Attempts: int32(job.Attempt), Now: w.Clock.Now()}); err != nil {
		w.Log.Error("mail: mark sent", "outbox_id", r.ID, "error", err.Error())
	}
	return nil
}

// record writes a failed attempt on the row: the next attempt River will make, or failure
// for good (the body wiped).
func (w *Sender) record(ctx context.Context, job *river.Job[SendArgs], r db.MailOutbox, reason string, final bool) {
	ctx = context.WithoutCancel(ctx)
	if len(reason) > 500 {
		reason = reason[:500]
	}
	attempts := int32(job.Attempt)
	var err error
	if final {
		metrics.MailSent.WithLabelValues("failed").Inc()
		err = w.Q.FailMail(ctx, db.FailMailParams{ID: r.ID, Attempts: attempts, LastError: &reason})
		w.Log.Error("mail failed for good", "outbox_id", r.ID, "template", r.Template, "attempts", attempts, "error", reason)
	} else {
		metrics.MailSent.WithLabelValues("retry").Inc()
		next := w.NextRetry(job)
		err = w.Q.RetryMail(ctx, db.RetryMailParams{ID: r.ID, Attempts: attempts, NextAttemptAt: next, LastError: &reason})
		w.Log.Warn("mail will be retried", "outbox_id", r.ID, "template", r.Template, "attempts", attempts, "next_attempt_at", next, "error", reason)
	}
	if err != nil {
		w.Log.Error("mail: record failure", "outbox_id", r.ID, "error", err.Error())
	}
}

// Register adds the sender to the job client, on its queue.
func Register(j *jobs.Jobs, w *Sender) {
	jobs.Register(j, jobs.Queue{Name: Queue, Workers: QueueWorkers}, w)
}

// Backoff is the wait after the n-th failed attempt: 10 s, 20 s, 40 s, … capped at 30 min.
func Backoff(n int) time.Duration { return retry.Backoff(n, backoffBase, backoffCap) }
