package mail

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

// Worker defaults.
const (
	DefaultPoll        = time.Second
	DefaultBatch       = 10
	DefaultMaxAttempts = 8
	// DefaultLease is how long a claimed message is reserved for the worker sending it; past
	// that (the process died mid-send) another worker picks it up again.
	DefaultLease = 5 * time.Minute
	backoffBase  = 10 * time.Second
	backoffCap   = 30 * time.Minute
)

// Worker sends the outbox: it leases due pending rows (FOR UPDATE SKIP LOCKED, so several
// instances share the work), decrypts them, hands them to the transport, and marks each sent
// (wiping its body) or schedules a retry with exponential backoff; after MaxAttempts it marks
// the row failed. Delivery is at-least-once: a crash between the SMTP answer and the mark
// sends the message again after the lease.
type Worker struct {
	Q           *db.Queries
	Outbox      *Outbox
	Transport   Transport
	Clock       clock.Clock
	Log         *slog.Logger
	From        string
	Poll        time.Duration
	Batch       int
	MaxAttempts int
	Lease       time.Duration
}

func (w *Worker) defaults() {
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	if w.Batch <= 0 {
		w.Batch = DefaultBatch
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = DefaultMaxAttempts
	}
	if w.Lease <= 0 {
		w.Lease = DefaultLease
	}
}

// Run polls until ctx ends. A full batch is followed at once by the next one.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("mail worker", "error", err.Error())
		}
		if n == w.Batch && err == nil {
			t.Reset(0)
		} else {
			t.Reset(w.Poll)
		}
	}
}

// RunOnce claims and sends one batch; it returns the number of rows claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	now := w.Clock.Now()
	rows, err := w.Q.ClaimDueMail(ctx, db.ClaimDueMailParams{LeaseUntil: now.Add(w.Lease), Now: now, Batch: int32(w.Batch)})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var (
		batch []Envelope
		claim []db.MailOutbox
	)
	for _, r := range rows {
		body, err := w.Outbox.Open(r.ToAddress, r.Template, r.BodyEnc)
		if err != nil {
			// Undecryptable (wrong key, tampered): retrying cannot help.
			w.finish(ctx, r, "body cannot be decrypted", true)
			continue
		}
		batch = append(batch, Envelope{ID: r.ID, From: w.From, To: r.ToAddress, Template: r.Template, Locale: r.Locale, Subject: r.Subject, Body: body})
		claim = append(claim, r)
	}
	if len(batch) == 0 {
		return len(rows), nil
	}
	errs := w.Transport.Send(ctx, batch)
	for i, r := range claim {
		if errs[i] == nil {
			metrics.MailSent.WithLabelValues("sent").Inc()
			if err := w.Q.MarkMailSent(context.WithoutCancel(ctx), db.MarkMailSentParams{ID: r.ID, Now: w.Clock.Now()}); err != nil {
				w.Log.Error("mail worker: mark sent", "outbox_id", r.ID, "error", err.Error())
			}
			continue
		}
		w.finish(ctx, r, errs[i].Error(), int(r.Attempts) >= w.MaxAttempts)
	}
	return len(rows), nil
}

// finish records a failed attempt: a retry after an exponential backoff, or failure for good.
func (w *Worker) finish(ctx context.Context, r db.MailOutbox, reason string, final bool) {
	ctx = context.WithoutCancel(ctx) // the outcome is recorded even while shutting down
	if len(reason) > 500 {
		reason = reason[:500]
	}
	var err error
	if final {
		metrics.MailSent.WithLabelValues("failed").Inc()
		err = w.Q.FailMail(ctx, db.FailMailParams{ID: r.ID, LastError: &reason})
		w.Log.Error("mail failed for good", "outbox_id", r.ID, "template", r.Template, "attempts", r.Attempts, "error", reason)
	} else {
		metrics.MailSent.WithLabelValues("retry").Inc()
		next := w.Clock.Now().Add(Backoff(int(r.Attempts)))
		err = w.Q.RetryMail(ctx, db.RetryMailParams{ID: r.ID, NextAttemptAt: next, LastError: &reason})
		w.Log.Warn("mail will be retried", "outbox_id", r.ID, "template", r.Template, "attempts", r.Attempts, "next_attempt_at", next, "error", reason)
	}
	if err != nil {
		w.Log.Error("mail worker: record failure", "outbox_id", r.ID, "error", err.Error())
	}
}

// Backoff is the wait after the n-th failed attempt: 10 s, 20 s, 40 s, … capped at 30 min.
func Backoff(n int) time.Duration { return retry.Backoff(n, backoffBase, backoffCap) }
