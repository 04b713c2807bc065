package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

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
	ctx, span := s.traceBatch(ctx, items)
	defer span.End()
	var outs []outcome
	err := s.post.Tx(ctx, func(q *db.Queries) error {
		var err error
		outs, err = s.execBatch(ctx, q, items)
		return err
	})
	if err != nil {
		traceBatchFailed(span, err)
		if len(items) > 1 {
			for _, it := range items {
				s.runBatch([]*item{it})
			}
			return
		}
		span.End()
		items[0].done <- outcome{err: fmt.Errorf("ledger: batch: %w", err)}
		return
	}
	span.End() // before the answers: a caller's request span then never ends before its batch's
	for i, it := range items {
		countPosting(outs[i])
		it.done <- outs[i]
	}
}

// batch is one batch transaction's state as execBatch's steps build it.
type batch struct {
	s        *Service
	q        *db.Queries
	items    []*item
	outs     []outcome
	done     []bool   // an item whose outcome is decided (replayed, in flight, not found)
	lockKeys []string // "caller|key" of each item
	txIDs    []int64  // the transaction id reserved for each item
	p        *posting
	accts    map[int64]*acct
	holds    map[int64]*holdRow
}

// execBatch is the body of a batch transaction, in its numbered steps: claim the idempotency
// keys, replay stored outcomes, lock the external references, resolve the transfers, lock every
// account in one sorted statement, apply each item in memory (the money policy decides) and
// write the result in one statement.
func (s *Service) execBatch(ctx context.Context, q *db.Queries, items []*item) ([]outcome, error) {
	n := len(items)
	b := &batch{s: s, q: q, items: items, outs: make([]outcome, n), done: make([]bool, n),
		p: &posting{s: s, now: s.clock.Now()}}
	steps := []func(context.Context) error{
		b.claimKeys,    // 1
		b.replayStored, // 2
		b.lockRefs,     // 3
		b.resolve,      // 4
		b.lockAccounts, // 5
		b.apply,        // 6
		b.write,        // 7
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return b.outs, nil
}

// claimKeys takes one advisory lock per (caller, key), never waited for, and reserves a
// transaction id per item. A key twice in the same batch is in flight for its second occurrence.
func (b *batch) claimKeys(ctx context.Context) error {
	b.lockKeys = make([]string, len(b.items))
	seen := make(map[string]bool, len(b.items))
	for i, it := range b.items {
		b.lockKeys[i] = it.caller + "|" + it.key
		if seen[b.lockKeys[i]] {
			b.outs[i], b.done[i] = outcome{err: ErrInProgress}, true
		}
		seen[b.lockKeys[i]] = true
	}
	claims, err := b.q.ClaimIdempotencyKeys(ctx, b.lockKeys)
	if err != nil {
		return fmt.Errorf("claim keys: %w", err)
	}
	b.txIDs = make([]int64, len(b.items))
	for _, c := range claims {
		i := int(c.Ord) - 1
		b.txIDs[i] = c.TransactionID
		if !c.Acquired && !b.done[i] {
			b.outs[i], b.done[i] = outcome{err: ErrInProgress}, true
		}
	}
	return nil
}

// replayStored answers from the outcomes already stored under a key (read after the advisory
// lock, so a request that committed meanwhile is seen): same request → replay, another → 422.
func (b *batch) replayStored(ctx context.Context) error {
	var callers, keys []string
	for i, it := range b.items {
		if !b.done[i] {
			callers, keys = append(callers, it.caller), append(keys, it.key)
		}
	}
	if len(callers) == 0 {
		return nil
	}
	recs, err := b.q.GetIdempotencyRecords(ctx, db.GetIdempotencyRecordsParams{Callers: callers, Keys: keys, Now: b.p.now})
	if err != nil {
		return fmt.Errorf("idempotency records: %w", err)
	}
	stored := make(map[string]db.GetIdempotencyRecordsRow, len(recs))
	for _, r := range recs {
		stored[r.Caller+"|"+r.Key] = r
	}
	for i := range b.items {
		if r, ok := stored[b.lockKeys[i]]; ok && !b.done[i] {
			b.outs[i], b.done[i] = replayOf(r.RequestHash, r.ResponseStatus, r.ResponseCode, r.ResponseData, b.items[i].reqHash), true
		}
	}
	return nil
}

// lockRefs locks the external references of deposits and holds and reads those already used.
func (b *batch) lockRefs(ctx context.Context) error { return b.p.lockRefs(ctx, b.q, b.items, b.done) }

// resolve identifies the source and recipient wallets of the transfers.
func (b *batch) resolve(ctx context.Context) error {
	return b.s.resolveTransfers(ctx, b.q, b.items, b.done, b.outs)
}

// lockAccounts locks every account the remaining items touch, in one statement sorted by id,
// with what the money policy reads; then their spending counters, the holds to finish and what
// the originals of the reversals were already reversed by. The batch's instant is moved to the
// last posting of any locked user wallet if that is later (another instance's clock, a batch
// that took its instant before this one but locked after it), so that along every wallet the
// instants of the entries never go back: a period of a statement is a run of versions. System
// accounts are left out: every deposit and withdrawal shares one, and a clock running ahead on
// one instance would drag every wallet's postings along.
func (b *batch) lockAccounts(ctx context.Context) error {
	var ids, senders, holdIDs, originals []int64
	want := map[int64]bool{}
	for i, it := range b.items {
		if b.done[i] {
			continue
		}
		if it.op == opTransfer || it.op == opHold || it.op == opSettle {
			senders = append(senders, it.debit)
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
		if it.op == opReverse {
			originals = append(originals, it.reverses)
		}
	}
	b.accts = map[int64]*acct{}
	if len(ids) > 0 {
		rows, err := b.q.LockAccounts(ctx, db.LockAccountsParams{Ids: ids, Senders: senders})
		if err != nil {
			return fmt.Errorf("lock accounts: %w", err)
		}
		for _, r := range rows {
			b.accts[r.ID] = &acct{row: r, oldVersion: r.Version}
		}
		if len(rows) != len(ids) {
			return fmt.Errorf("lock accounts: %d of %d found", len(rows), len(ids))
		}
		b.p.now = b.s.historyClock(rows)
	}
	b.p.loadSpending(b.accts)
	b.holds = map[int64]*holdRow{}
	if len(holdIDs) > 0 {
		rows, err := b.q.GetHolds(ctx, holdIDs)
		if err != nil {
			return fmt.Errorf("holds: %w", err)
		}
		for _, r := range rows {
			b.holds[r.ID] = &holdRow{status: r.Status, createdAt: r.CreatedAt, expiresAt: r.ExpiresAt}
		}
	}
	return b.p.readReversed(ctx, b.q, originals)
}

// historyClock is the batch's instant, read once its accounts are locked: the clock, or the
// latest instant already in the history of one of its wallets when that is later (another
// instance's clock ahead of this one). Every row of the batch carries it, so along each wallet's
// history the instants never go back: a time range is a range of positions (migration 00044).
// System accounts do not count: no history lists them, and every deposit locks the settlement
// account, so one skewed clock would otherwise drag the instants of every wallet after it.
func (s *Service) historyClock(locked []db.LockAccountsRow) time.Time {
	now := s.clock.Now()
	for _, r := range locked {
		if r.Kind == "user" && r.HistoryAt != nil && r.HistoryAt.After(now) {
			now = *r.HistoryAt
		}
	}
	return now
}

// apply decides each remaining item against the locked rows, all-or-nothing per item.
func (b *batch) apply(context.Context) error {
	for i, it := range b.items {
		if b.done[i] {
			continue
		}
		o, err := b.p.apply(it, b.txIDs[i], b.accts, b.holds)
		if err != nil {
			return err
		}
		b.outs[i] = o
	}
	return nil
}

// write posts everything in one statement and checks that every row landed.
func (b *batch) write(ctx context.Context) error {
	if b.p.empty() {
		return nil
	}
	arg := b.p.params()
	res, err := b.q.PostBatch(ctx, arg)
	if err != nil {
		return fmt.Errorf("post batch: %w", err)
	}
	if res.Transactions != int64(len(arg.TID)) || res.Entries != int64(len(arg.ETx)) || res.Accounts != int64(len(arg.AID)) ||
		res.Holds != int64(len(arg.HID)) || res.Idempotency != int64(len(arg.ICaller)) || res.Audits != int64(len(arg.AuAction)) ||
		res.Events != int64(len(arg.EvType)) {
		return fmt.Errorf("post batch: wrote %+v for %d transactions, %d entries, %d accounts, %d holds, %d keys, %d audit events, %d events",
			res, len(arg.TID), len(arg.ETx), len(arg.AID), len(arg.HID), len(arg.ICaller), len(arg.AuAction), len(arg.EvType))
	}
	return nil
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
