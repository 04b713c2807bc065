package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flowxi/backend/gen/db"
)

// batchTimeout bounds one batch transaction (lock waits included).
const batchTimeout = 30 * time.Second

// runBatch applies items in one transaction and answers each caller after the commit. If the
// batch fails as a whole (a constraint, a bug), every item is retried alone so that one bad
// request cannot fail the others; a lone item's failure is its own 500. Serialization failures
// and deadlocks are retried inside store.Tx.
func (s *Service) runBatch(items []*item) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var outs []outcome
	err := s.post.Tx(ctx, func(q *db.Queries, _ pgx.Tx) error {
		var err error
		outs, err = s.execBatch(ctx, q, items)
		return err
	})
	if err != nil {
		if len(items) > 1 {
			for _, it := range items {
				s.runBatch([]*item{it})
			}
			return
		}
		items[0].done <- outcome{err: fmt.Errorf("ledger: batch: %w", err)}
		return
	}
	for i, it := range items {
		countPosting(outs[i])
		it.done <- outs[i]
	}
}

// execBatch is the body of a batch transaction: claim the idempotency keys, replay stored
// outcomes, lock the external references, resolve the transfers, lock every account in one
// sorted statement, apply each item in memory (the money policy decides) and write the result
// in one statement.
func (s *Service) execBatch(ctx context.Context, q *db.Queries, items []*item) ([]outcome, error) {
	n := len(items)
	outs := make([]outcome, n)
	done := make([]bool, n)
	now := s.clock.Now()

	// 1. One advisory lock per (caller, key), never waited for. A key twice in the same batch is
	// in flight for its second occurrence.
	lockKeys := make([]string, n)
	seen := make(map[string]bool, n)
	for i, it := range items {
		lockKeys[i] = it.caller + "|" + it.key
		if seen[lockKeys[i]] {
			outs[i], done[i] = outcome{err: ErrInProgress}, true
		}
		seen[lockKeys[i]] = true
	}
	claims, err := q.ClaimIdempotencyKeys(ctx, lockKeys)
	if err != nil {
		return nil, fmt.Errorf("claim keys: %w", err)
	}
	txIDs := make([]int64, n)
	for _, c := range claims {
		i := int(c.Ord) - 1
		txIDs[i] = c.TransactionID
		if !c.Acquired && !done[i] {
			outs[i], done[i] = outcome{err: ErrInProgress}, true
		}
	}

	// 2. Outcomes already stored under a key (read after the advisory lock, so a request that
	// committed meanwhile is seen): same request → replay, another request → 422.
	var callers, keys []string
	for i, it := range items {
		if !done[i] {
			callers, keys = append(callers, it.caller), append(keys, it.key)
		}
	}
	if len(callers) > 0 {
		recs, err := q.GetIdempotencyRecords(ctx, db.GetIdempotencyRecordsParams{Callers: callers, Keys: keys, Now: now})
		if err != nil {
			return nil, fmt.Errorf("idempotency records: %w", err)
		}
		stored := make(map[string]db.GetIdempotencyRecordsRow, len(recs))
		for _, r := range recs {
			stored[r.Caller+"|"+r.Key] = r
		}
		for i := range items {
			if r, ok := stored[lockKeys[i]]; ok && !done[i] {
				outs[i], done[i] = replayOf(r.RequestHash, r.ResponseStatus, r.ResponseCode, r.ResponseData, items[i].reqHash), true
			}
		}
	}

	// 3. External references of deposits and holds: one advisory lock each, then the
	// transactions already using them (read after the locks, so a concurrent batch's is seen).
	p := &posting{s: s, now: now}
	if err := p.lockRefs(ctx, q, items, done); err != nil {
		return nil, err
	}

	// 4. Transfers: resolve the source wallet and the recipient.
	if err := s.resolveTransfers(ctx, q, items, done, outs); err != nil {
		return nil, err
	}

	// 5. Lock every account the remaining items touch, in one statement sorted by id, with what
	// the money policy reads; then their spending counters and the holds to finish.
	var ids, holdIDs []int64
	want := map[int64]bool{}
	for i, it := range items {
		if done[i] {
			continue
		}
		for _, id := range it.lockSet() {
			if !want[id] {
				want[id] = true
				ids = append(ids, id)
			}
		}
		if it.op == opSettle || it.op == opVoid {
			holdIDs = append(holdIDs, it.holdID)
		}
	}
	accts := map[int64]*acct{}
	if len(ids) > 0 {
		rows, err := q.LockAccounts(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("lock accounts: %w", err)
		}
		for _, r := range rows {
			accts[r.ID] = &acct{row: r, oldVersion: r.Version}
		}
		if len(rows) != len(ids) {
			return nil, fmt.Errorf("lock accounts: %d of %d found", len(rows), len(ids))
		}
	}
	if err := p.loadSpending(ctx, q, accts); err != nil {
		return nil, err
	}
	holds := map[int64]*holdRow{}
	if len(holdIDs) > 0 {
		rows, err := q.GetHolds(ctx, holdIDs)
		if err != nil {
			return nil, fmt.Errorf("holds: %w", err)
		}
		for _, r := range rows {
			holds[r.ID] = &holdRow{status: r.Status, createdAt: r.CreatedAt, expiresAt: r.ExpiresAt}
		}
	}

	// 6. Apply each item against the locked rows, all-or-nothing per item.
	for i, it := range items {
		if done[i] {
			continue
		}
		o, err := p.apply(it, txIDs[i], accts, holds)
		if err != nil {
			return nil, err
		}
		outs[i] = o
	}

	// 7. Write everything in one statement and check that every row landed.
	if p.empty() {
		return outs, nil
	}
	arg := p.params()
	res, err := q.PostBatch(ctx, arg)
	if err != nil {
		return nil, fmt.Errorf("post batch: %w", err)
	}
	if res.Transactions != int64(len(arg.TID)) || res.Entries != int64(len(arg.ETx)) || res.Accounts != int64(len(arg.AID)) ||
		res.Holds != int64(len(arg.HID)) || res.Idempotency != int64(len(arg.ICaller)) || res.Audits != int64(len(arg.AuAction)) ||
		res.SpendAdded != int64(len(arg.SaAccount)) || res.SpendSubtracted != int64(len(arg.SsAccount)) {
		return nil, fmt.Errorf("post batch: wrote %+v for %d transactions, %d entries, %d accounts, %d holds, %d keys, %d audit events, %d+%d counters",
			res, len(arg.TID), len(arg.ETx), len(arg.AID), len(arg.HID), len(arg.ICaller), len(arg.AuAction), len(arg.SaAccount), len(arg.SsAccount))
	}
	return outs, nil
}

// lockSet lists the accounts an item must hold locked (a transfer whose recipient was not
// found has no credit account).
func (it *item) lockSet() []int64 {
	switch {
	case it.op == opHold || it.op == opVoid || it.credit == 0:
		return []int64{it.debit}
	default:
		return []int64{it.debit, it.credit}
	}
}

// refKey names an item's external reference: unique per kind and currency.
func (it *item) refKey() string { return kindOf[it.op] + "|" + it.currency + "|" + it.extRef }

// lockRefs takes the advisory locks of the batch's external references (deposits and holds) and
// reads the transactions that already use them into p.refs.
func (p *posting) lockRefs(ctx context.Context, q *db.Queries, items []*item, done []bool) error {
	var keys, kinds, currencies, refs []string
	for i, it := range items {
		if !done[i] && (it.op == opDeposit || it.op == opHold) && it.extRef != "" {
			keys, kinds = append(keys, it.refKey()), append(kinds, kindOf[it.op])
			currencies, refs = append(currencies, it.currency), append(refs, it.extRef)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if err := q.LockExternalRefs(ctx, keys); err != nil {
		return fmt.Errorf("lock references: %w", err)
	}
	rows, err := q.FindExternalRefs(ctx, db.FindExternalRefsParams{Kinds: kinds, Currencies: currencies, Refs: refs})
	if err != nil {
		return fmt.Errorf("references: %w", err)
	}
	for _, r := range rows {
		data, err := json.Marshal(transactionOf(db.GetTransactionForUserRow(r)))
		if err != nil {
			return err
		}
		p.useRef(r.Kind+"|"+r.Currency+"|"+*r.ExternalRef, data)
	}
	return nil
}

// replayOf turns a stored record into the caller's outcome.
func replayOf(storedHash []byte, status int32, code string, data, reqHash []byte) outcome {
	if !bytes.Equal(storedHash, reqHash) {
		return outcome{err: ErrKeyReused}
	}
	return outcome{status: int(status), code: code, data: data, replayed: true}
}
