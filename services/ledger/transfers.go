package ledger

import (
	"context"
	"fmt"
	"net/http"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/reqctx"
)

// CreateTransfer sends money from one of the caller's wallets to another user's wallet.
func (s *Service) CreateTransfer(ctx context.Context, req api.CreateTransferRequestObject) (api.CreateTransferResponseObject, error) {
	p := reqctx.Caller(ctx)
	b := req.Body
	toUser := trimmed(b.ToUsername)
	if (toUser == "") == (b.ToWalletId == nil) {
		return nil, apierr.Invalid("to_username", "recipient_one_of")
	}
	if err := s.supported("currency", b.Currency); err != nil {
		return nil, err
	}
	toWallet := int64(0)
	if b.ToWalletId != nil {
		toWallet = *b.ToWalletId
	}
	it := &item{ctx: ctx, op: opTransfer, caller: callerOfUser(p.UserID), key: req.Params.IdempotencyKey,
		initType: "user", initID: itoa(p.UserID), userID: p.UserID,
		debit: b.FromWalletId, amount: b.Amount, currency: b.Currency, note: ptr.Value(b.Note)}
	it.reqHash = requestHash("transfer", itoa(b.FromWalletId), toUser, itoa(toWallet), itoa(b.Amount), b.Currency, it.note)

	// A 2FA user needs a step-up window (403, nothing recorded). Everything else (the source
	// wallet must be the caller's, the recipient) is resolved by the engine for the whole batch in
	// one statement (resolveTransfers), and decided by the money policy under the locks.
	it.toUsername, it.toWallet = toUser, toWallet
	var o outcome
	var err error
	if err = s.stepup.Require(ctx, p.TokenID, p.TwofaEnabled); err == nil {
		o = s.eng.submit(ctx, it)
	} else if o, err = s.storedOr(ctx, it.caller, it.key, it.reqHash, err); err != nil {
		return nil, err
	}
	r, err := resultOf(ctx, o)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusConflict {
		return api.CreateTransfer409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	}
	if r.status == http.StatusForbidden {
		return api.CreateTransfer403JSONResponse{MoneyForbiddenJSONResponse: r.forbidden()}, nil
	}
	return api.CreateTransfer201JSONResponse{Body: r.body, Headers: api.CreateTransfer201ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// resolveTransfers identifies, for the transfers of a batch still to apply, their accounts in one
// statement: a source wallet that is not the caller's answers 404 and records nothing; the
// recipient's wallet is found by username or id (the policy decides whether it may receive). It runs after the idempotency keys are claimed and their stored
// outcomes replayed, so a retry of an accepted transfer replays even if the wallet changed hands.
func (s *Service) resolveTransfers(ctx context.Context, q *db.Queries, items []*item, done []bool, outs []outcome) error {
	var idx []int
	var arg db.ResolveTransfersParams
	for i, it := range items {
		if done[i] || it.op != opTransfer {
			continue
		}
		idx = append(idx, i)
		arg.FromWalletIds = append(arg.FromWalletIds, it.debit)
		arg.UserIds = append(arg.UserIds, it.userID)
		arg.Currencies = append(arg.Currencies, it.currency)
		arg.ToUsernames = append(arg.ToUsernames, it.toUsername)
		arg.ToWalletIds = append(arg.ToWalletIds, it.toWallet)
	}
	if len(idx) == 0 {
		return nil
	}
	rows, err := q.ResolveTransfers(ctx, arg)
	if err != nil {
		return fmt.Errorf("resolve transfers: %w", err)
	}
	found := make([]bool, len(idx))
	for _, r := range rows {
		k := int(r.Ord) - 1
		found[k] = true
		s.resolveTransfer(items[idx[k]], r)
	}
	for k, i := range idx {
		if !found[k] {
			outs[i], done[i] = outcome{err: ErrWalletNotFound}, true
		}
	}
	return nil
}

// resolveTransfer fills in one transfer from its resolved row. Why the recipient cannot receive
// is only noted: the money policy decides it under the locks, after every rule of the sender.
func (s *Service) resolveTransfer(it *item, r db.ResolveTransfersRow) {
	it.fromUser = r.Username
	switch {
	case r.ToUserStatus != "active": // unknown, blocked or closed recipients look the same
		it.recipientFail = "RECIPIENT_NOT_FOUND"
	case r.ToAccountID == nil: // a user without a wallet in this currency
		it.recipientFail = "CURRENCY_MISMATCH"
	default:
		it.toUser, it.credit = r.ToUsername, *r.ToAccountID
	}
}

// GetTransfer returns a transaction the caller sent, or a completed one they received, with
// what reversals moved back of it.
func (s *Service) GetTransfer(ctx context.Context, req api.GetTransferRequestObject) (api.GetTransferResponseObject, error) {
	p := reqctx.Caller(ctx)
	t, err := s.st.Q.GetTransactionForUser(ctx, db.GetTransactionForUserParams{ID: req.Id, UserID: &p.UserID})
	if err != nil {
		if pg.IsNotFound(err) {
			return nil, ErrTransferNotFound
		}
		return nil, fmt.Errorf("ledger: transfer: %w", err)
	}
	tx := transactionOf(t)
	if err := s.withReversals(ctx, &tx); err != nil {
		return nil, err
	}
	return api.GetTransfer200JSONResponse{Code: "TRANSFER_OK", Message: i18n.Msg(ctx, "TRANSFER_OK"), Data: tx}, nil
}

// transactionOf renders a stored transaction.
func transactionOf(t db.GetTransactionForUserRow) api.Transaction {
	tx := api.Transaction{Id: t.ID, Kind: api.TransactionKind(t.Kind), Status: api.TransactionStatus(t.Status), Amount: t.Amount,
		Currency: t.Currency, FromWalletId: t.FromAccountID, ToWalletId: t.ToAccountID, FromUsername: t.FromUsername, ToUsername: t.ToUsername,
		Note: t.Note, ExternalReference: t.ExternalRef, FailureCode: t.FailureCode, CreatedAt: ts(t.CreatedAt), FinalizedAt: tsPtr(t.FinalizedAt),
		ExpiresAt: tsPtr(t.ExpiresAt), ReversesId: t.ReversesID}
	// System accounts are not wallets: a deposit has no source wallet, a withdrawal no destination.
	if t.Kind == "deposit" {
		tx.FromWalletId = nil
	}
	if t.Kind == "withdrawal" {
		tx.ToWalletId = nil
	}
	if t.Kind == "reversal" { // either side may be the settlement account (it has no owner)
		if t.FromUsername == nil {
			tx.FromWalletId = nil
		}
		if t.ToUsername == nil {
			tx.ToWalletId = nil
		}
	}
	return tx
}
