package privacy

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
	"github.com/flowxi/backend/services/audit"
)

// Eraser pseudonymizes closed accounts once ERASURE_RETENTION has passed since their closure:
// one account per transaction, locked with SKIP LOCKED so that the workers of several instances
// share the backlog. What goes and what stays is the tag *Privacy*'s text in openapi.yaml; money
// rows are never touched, and nothing hashed (the audit chain, the ledger's entry chain) changes.
type Eraser struct {
	st        *pg.Store
	dels      Deletions
	clock     clock.Clock
	log       *slog.Logger
	retention time.Duration
	every     time.Duration
}

// NewEraser builds the erasure worker.
func NewEraser(d Deps) *Eraser {
	e := &Eraser{st: d.Store, dels: d.Deletions, clock: d.Clock, log: d.Log, retention: d.Retention, every: d.Every}
	if e.retention <= 0 {
		e.retention = DefaultRetention
	}
	if e.every <= 0 {
		e.every = time.Minute
	}
	return e
}

// Run erases due accounts every interval until ctx ends.
func (e *Eraser) Run(ctx context.Context) {
	retry.Every(ctx, e.every, func(ctx context.Context) {
		if _, err := e.EraseDue(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("erasure", "error", err.Error())
		}
	})
}

// EraseDue erases every account due now and returns how many it erased.
func (e *Eraser) EraseDue(ctx context.Context) (int, error) {
	n := 0
	for {
		done, err := e.eraseNext(ctx)
		if err != nil || !done {
			return n, err
		}
		n++
	}
}

// Backlog counts the closed accounts not erased yet: within the retention, and due.
func (e *Eraser) Backlog(ctx context.Context) (retained, due int64, err error) {
	r, err := e.st.Q.CountErasures(ctx, e.clock.Now().Add(-e.retention))
	return r.Retained, r.Due, err
}

// eraseNext erases the oldest due account, if any; its objects are deleted once the
// transaction has committed (the deletions queue's jobs take over if that fails).
func (e *Eraser) eraseNext(ctx context.Context) (bool, error) {
	now := e.clock.Now()
	var keys []string
	found := false
	err := e.st.Tx(ctx, func(q *db.Queries) error {
		keys, found = nil, false
		u, err := q.LockDueErasure(ctx, now.Add(-e.retention))
		if pg.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if keys, err = e.erase(ctx, q, u, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: "privacy.erased", UserID: u.ID, System: true,
			SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
			Details: map[string]any{"closed_at": apitime.FormatPtr(u.ClosedAt), "objects": len(keys)}})
	})
	if err != nil || !found {
		return false, err
	}
	for _, k := range keys {
		e.dels.DeleteNow(ctx, k)
	}
	metrics.ErasureDone.Inc()
	return true, nil
}

// erase replaces or removes the account's personal data in q's transaction and queues its
// objects (photo, compliance documents) for deletion; it returns their keys.
func (e *Eraser) erase(ctx context.Context, q *db.Queries, u db.User, now time.Time) ([]string, error) {
	keys, err := q.EraseComplianceDocuments(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if u.PhotoKey != nil {
		keys = append(keys, *u.PhotoKey)
	}
	for _, k := range keys {
		if err := e.dels.Schedule(ctx, q, k); err != nil {
			return nil, err
		}
	}
	if err := q.EraseComplianceData(ctx, u.ID); err != nil {
		return nil, err
	}
	if err := q.EraseMail(ctx, db.EraseMailParams{Pseudonym: Pseudonym(u.ID), Email: u.Email}); err != nil {
		return nil, err
	}
	if err := q.EraseSessions(ctx, db.EraseSessionsParams{UserID: u.ID, Now: now}); err != nil {
		return nil, err
	}
	if err := q.EraseCredentials(ctx, u.ID); err != nil {
		return nil, err
	}
	return keys, q.EraseUser(ctx, db.EraseUserParams{ID: u.ID, Pseudonym: Pseudonym(u.ID), Now: now})
}

// Pseudonym is the address an erased account's e-mail becomes:
// unique, reserved (.invalid, RFC 2606), never deliverable.
func Pseudonym(userID int64) string {
	return "erased-" + strconv.FormatInt(userID, 10) + "@erased.invalid"
}
