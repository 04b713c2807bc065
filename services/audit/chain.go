package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/retry"
)

// Canonical is the byte form of a row that the chain hashes: a JSON array of its content in a
// fixed order. details is PostgreSQL's jsonb text, which is already normalized.
func Canonical(e db.AuditEvent) []byte {
	b, _ := json.Marshal([]any{
		e.ID, apitime.Format(e.OccurredAt), e.ActorType, e.ActorID, e.Action,
		e.SubjectType, e.SubjectID, e.UserID, e.Ip, e.UserAgent, e.RequestID, json.RawMessage(e.Details),
	})
	return b
}

// Link computes a row's hash from the previous hash.
func Link(prev []byte, e db.AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(Canonical(e))
	return h.Sum(nil)
}

// Sealer assigns committed rows their place in the global chain. Requests never wait on it:
// they only insert rows; one sealer at a time (the chain head's row lock) extends the chain.
// It seals only final rows: those written by transactions older than the oldest one still
// running on the server (pg_snapshot_xmin, all databases). A long transaction anywhere therefore
// delays sealing (never skips a row); audit verify reports rows left unsealed too long.
type Sealer struct {
	st    *pg.Store
	clock clock.Clock
	log   *slog.Logger
	every time.Duration
}

// NewSealer builds a sealer polling every interval.
func NewSealer(st *pg.Store, c clock.Clock, log *slog.Logger, every time.Duration) *Sealer {
	if every <= 0 {
		every = time.Second
	}
	return &Sealer{st: st, clock: c, log: log, every: every}
}

// Run seals until ctx ends.
func (s *Sealer) Run(ctx context.Context) {
	retry.Every(ctx, s.every, func(ctx context.Context) {
		if _, err := s.SealPending(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("audit sealer", "error", err.Error())
		}
	})
}

// SealPending seals every final unsealed row (see Sealer) and returns how many it sealed.
func (s *Sealer) SealPending(ctx context.Context) (int, error) {
	const chunk = 1000
	total := 0
	for {
		n, err := s.sealBatch(ctx, chunk)
		total += n
		// A short chunk took every final row: another round would only find none.
		if err != nil || n < chunk {
			return total, err
		}
	}
}

func (s *Sealer) sealBatch(ctx context.Context, max int32) (int, error) {
	sealed := 0
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		sealed = 0
		head, err := q.GetChainHeadForUpdate(ctx)
		if err != nil {
			return err
		}
		bound, err := q.GetSealBound(ctx)
		if err != nil {
			return err
		}
		rows, err := q.ListUnsealedAuditEvents(ctx, db.ListUnsealedAuditEventsParams{
			LastTxid: head.LastTxid, LastID: head.LastID, Bound: bound, MaxRows: max})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		// One block: every row's chain hash, in chain order, appended in one insert.
		prev := head.Hash
		hashes := make([][]byte, len(rows))
		for i, r := range rows {
			hashes[i] = Link(prev, r)
			prev = hashes[i]
		}
		last := rows[len(rows)-1]
		if err := q.InsertAuditSeal(ctx, db.InsertAuditSealParams{Seq: head.Seq + 1, Rows: int32(len(rows)),
			LastTxid: last.Txid, LastID: last.ID, PrevHash: head.Hash, Hashes: hashes, SealedAt: s.clock.Now()}); err != nil {
			return err
		}
		if err := q.SetChainHead(ctx, db.SetChainHeadParams{Seq: head.Seq + int64(len(rows)), Hash: prev, LastTxid: last.Txid, LastID: last.ID}); err != nil {
			return err
		}
		sealed = len(rows)
		return nil
	})
	return sealed, err
}

// Report is the outcome of a chain verification.
type Report struct {
	Checked       int64
	BrokenSeq     int64 // 0 when intact
	BrokenID      int64
	Reason        string
	StaleUnsealed int64
}

// OK reports an intact chain with no stale unsealed row.
func (r Report) OK() bool { return r.BrokenSeq == 0 && r.StaleUnsealed == 0 }

// Verify walks the chain from the first row, recomputing every hash, and reports the first
// broken row; rows still unsealed after staleAfter are counted as stale.
func Verify(ctx context.Context, st *pg.Store, now time.Time, staleAfter time.Duration) (Report, error) {
	var rep Report
	prev := make([]byte, 32)
	var pos, afterTxid, afterID int64 // the chain position and (txid, id) of the last row checked
	for {
		seals, err := st.Q.ListAuditSeals(ctx, db.ListAuditSealsParams{Seq: pos, Limit: 100})
		if err != nil {
			return rep, err
		}
		if len(seals) == 0 {
			break
		}
		for _, b := range seals {
			if b.Seq != pos+1 {
				rep.BrokenSeq, rep.Reason = pos+1, fmt.Sprintf("gap: the next block starts at %d", b.Seq)
				return rep, nil
			}
			if !bytes.Equal(b.PrevHash, prev) {
				rep.BrokenSeq, rep.Reason = b.Seq, "the block does not follow the previous hash"
				return rep, nil
			}
			rows, err := st.Q.ListAuditEventsInRange(ctx, db.ListAuditEventsInRangeParams{
				AfterTxid: afterTxid, AfterID: afterID, LastTxid: b.LastTxid, LastID: b.LastID})
			if err != nil {
				return rep, err
			}
			for i, r := range rows {
				rep.Checked++
				h := Link(prev, r)
				if i >= len(b.Hashes) || !bytes.Equal(h, b.Hashes[i]) {
					rep.BrokenSeq, rep.BrokenID, rep.Reason = b.Seq+int64(i), r.ID, "content does not match its hash (changed, inserted or a row before it removed)"
					return rep, nil
				}
				prev = h
			}
			if len(rows) != int(b.Rows) {
				rep.BrokenSeq, rep.Reason = b.Seq+int64(len(rows)), fmt.Sprintf("the block sealed %d rows, %d remain", b.Rows, len(rows))
				return rep, nil
			}
			pos, afterTxid, afterID = b.Seq+int64(b.Rows)-1, b.LastTxid, b.LastID
		}
	}
	n, err := st.Q.CountStaleUnsealed(ctx, now.Add(-staleAfter))
	rep.StaleUnsealed = n
	return rep, err
}
