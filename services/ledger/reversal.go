package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/identity/internalkeys"
)

// Reversals: a compensating transaction (kind reversal) moves all or part of a posted
// transaction back, from its credit account to its debit account, through the posting engine.
// The original is never edited; what was reversed of it is the sum of its posted reversals,
// read under the locks of its two accounts, which every reversal of it locks too — so two
// concurrent reversals are decided one after the other and never exceed its amount.

// Refusals of a reversal that record nothing.
var (
	ErrNotPosted     = apierr.New(http.StatusConflict, "TRANSACTION_NOT_POSTED")
	ErrNotReversible = apierr.New(http.StatusConflict, "TRANSACTION_NOT_REVERSIBLE")
)

// MaxReasonRunes is the longest reversal reason, in characters.
const MaxReasonRunes = 500

// ReverseTransaction posts a reversal of a posted transaction (internal, scope ledger:admin).
func (s *Service) ReverseTransaction(ctx context.Context, req api.ReverseTransactionRequestObject) (api.ReverseTransactionResponseObject, error) {
	reason, err := rules.Reason(req.Body.Reason, MaxReasonRunes)
	if err != nil {
		return nil, err
	}
	out, err := s.submitReverse(ctx, req.Params.IdempotencyKey, req.Id, req.Body.Amount, reason)
	if err != nil {
		return nil, err
	}
	r, err := resultOf(ctx, out)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusConflict {
		return api.ReverseTransaction409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	}
	return api.ReverseTransaction201JSONResponse{Body: r.body, Headers: api.ReverseTransaction201ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// submitReverse reads the original, refuses what can never be reversed (a retry of an accepted
// request replays instead), and queues the reversal: its accounts are the original's, swapped.
func (s *Service) submitReverse(ctx context.Context, key string, origID, amount int64, reason string) (outcome, error) {
	k, err := internalkeys.Caller(ctx)
	if err != nil {
		return outcome{}, err
	}
	it := &item{ctx: ctx, op: opReverse, caller: callerOfKey(k.ID), key: key, initType: "internal_key", initID: k.Name,
		amount: amount, note: reason, reverses: origID, reqHash: requestHash("reverse", itoa(origID), itoa(amount), reason)}
	o, err := s.st.Q.GetReversalOriginal(ctx, origID)
	switch {
	case pg.IsNotFound(err):
		return s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrTransferNotFound)
	case err != nil:
		return outcome{}, fmt.Errorf("ledger: reversal original: %w", err)
	case o.Kind == "reversal":
		return s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrNotReversible)
	case o.Status != "posted" || o.FromAccountID == nil || o.ToAccountID == nil:
		// Only a hold changes status, and only from pending: a posted original stays posted.
		return s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrNotPosted)
	}
	it.debit, it.credit, it.currency, it.origAmount = *o.ToAccountID, *o.FromAccountID, o.Currency, o.Amount
	if o.ToKind == "user" {
		it.fromUser = o.ToUsername
	}
	if o.FromKind == "user" {
		it.toUser = o.FromUsername
	}
	// The user the audit row concerns: the one the money leaves, else the one it returns to.
	for _, u := range []*int64{o.ToUserID, o.FromUserID} {
		if u != nil && it.userID == 0 {
			it.userID = *u
		}
	}
	return s.eng.submit(ctx, it), nil
}

// readReversed reads, after the accounts are locked, what the posted reversals of each original
// moved back.
func (p *posting) readReversed(ctx context.Context, q *db.Queries, originals []int64) error {
	p.reversed = make(map[int64]int64, len(originals))
	if len(originals) == 0 {
		return nil
	}
	rows, err := q.ReversedAmounts(ctx, originals)
	if err != nil {
		return fmt.Errorf("reversed amounts: %w", err)
	}
	for _, r := range rows {
		p.reversed[r.ID] = r.Reversed
	}
	return nil
}

// reversalDetails adds a reversal's original and reason to its audit details.
func reversalDetails(details []byte, it *item) []byte {
	details = append(details, `,"reverses":`...)
	details = strconv.AppendInt(details, it.reverses, 10)
	reason, _ := json.Marshal(it.note) // a string always marshals
	details = append(details, `,"reason":`...)
	return append(details, reason...)
}

// withReversals adds to a posted transaction's view what its posted reversals moved back and
// their ids.
func (s *Service) withReversals(ctx context.Context, tx *api.Transaction) error {
	if tx.Status != api.TransactionStatusPosted || tx.Kind == api.TransactionKindReversal {
		return nil
	}
	rows, err := s.st.Q.ListReversalsOf(ctx, tx.Id)
	if err != nil {
		return fmt.Errorf("ledger: reversals: %w", err)
	}
	total, ids := int64(0), make([]int64, 0, len(rows))
	for _, r := range rows {
		total += r.Amount
		ids = append(ids, r.ID)
	}
	tx.ReversedAmount, tx.ReversalIds = &total, &ids
	return nil
}
