package ledger

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/i18n"
	"github.com/flowxi/backend/services/internalkeys"
	"github.com/flowxi/backend/services/store"
)

// Scopes of the internal operations.
const (
	ScopeDeposit  = "ledger:deposit"
	ScopeWithdraw = "ledger:withdraw"
	ScopeAdmin    = "ledger:admin"
	ScopeRead     = "ledger:read"
)

// walletMove prepares a deposit or a hold on a wallet named by an internal caller.
func (s *Service) walletMove(ctx context.Context, o op, scope string, key string, b api.DepositRequest) (outcome, error) {
	k, err := internalkeys.RequireScope(ctx, scope)
	if err != nil {
		return outcome{}, err
	}
	if err := s.supported("currency", b.Currency); err != nil {
		return outcome{}, err
	}
	name := map[op]string{opDeposit: "deposit", opHold: "hold"}[o]
	it := &item{ctx: ctx, op: o, caller: callerOfKey(k.ID), key: key, initType: "internal_key", initID: k.Name,
		amount: b.Amount, currency: b.Currency, extRef: b.ExternalReference,
		reqHash: requestHash(name, itoa(b.WalletId), itoa(b.Amount), b.Currency, b.ExternalReference)}
	w, err := s.st.Q.GetWallet(ctx, b.WalletId)
	if err != nil {
		if store.IsNotFound(err) {
			return s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrWalletNotFound)
		}
		return outcome{}, fmt.Errorf("ledger: wallet: %w", err)
	}
	settlement, err := s.systemAccount(ctx, "settlement", b.Currency)
	if err != nil {
		return outcome{}, err
	}
	it.userID = *w.UserID
	if o == opDeposit {
		it.debit, it.credit, it.toUser = settlement, w.ID, w.Username
	} else {
		it.debit, it.credit, it.fromUser = w.ID, settlement, w.Username
	}
	if w.Currency != b.Currency {
		it.preFail = "CURRENCY_MISMATCH"
	}
	return s.eng.submit(ctx, it), nil
}

// CreateDeposit credits a wallet from the currency's settlement account.
func (s *Service) CreateDeposit(ctx context.Context, req api.CreateDepositRequestObject) (api.CreateDepositResponseObject, error) {
	o, err := s.walletMove(ctx, opDeposit, ScopeDeposit, req.Params.IdempotencyKey, *req.Body)
	if err != nil {
		return nil, err
	}
	r, err := resultOf(ctx, o)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusConflict {
		return api.CreateDeposit409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	}
	return api.CreateDeposit201JSONResponse{Body: r.body, Headers: api.CreateDeposit201ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// CreateHold reserves an amount on a wallet: the first phase of a withdrawal.
func (s *Service) CreateHold(ctx context.Context, req api.CreateHoldRequestObject) (api.CreateHoldResponseObject, error) {
	o, err := s.walletMove(ctx, opHold, ScopeWithdraw, req.Params.IdempotencyKey, *req.Body)
	if err != nil {
		return nil, err
	}
	r, err := resultOf(ctx, o)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusConflict {
		return api.CreateHold409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	}
	return api.CreateHold201JSONResponse{Body: r.body, Headers: api.CreateHold201ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// finishHold settles or voids a pending hold.
func (s *Service) finishHold(ctx context.Context, o op, key string, holdID int64) (result, error) {
	k, err := internalkeys.RequireScope(ctx, ScopeWithdraw)
	if err != nil {
		return result{}, err
	}
	name := map[op]string{opSettle: "settle", opVoid: "void"}[o]
	it := &item{ctx: ctx, op: o, caller: callerOfKey(k.ID), key: key, initType: "internal_key", initID: k.Name,
		holdID: holdID, reqHash: requestHash(name, itoa(holdID))}
	h, err := s.st.Q.GetHold(ctx, holdID)
	var out outcome
	switch {
	case store.IsNotFound(err):
		out, err = s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrHoldNotFound)
	case err != nil:
		return result{}, fmt.Errorf("ledger: hold: %w", err)
	case h.Status != "pending":
		// Final already: a retry of the request that finished it replays; anything else is 409.
		out, err = s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrHoldNotPending)
	default:
		it.debit, it.credit, it.amount, it.currency = *h.FromAccountID, *h.ToAccountID, h.Amount, h.Currency
		it.userID, it.fromUser = *h.OwnerID, h.OwnerUsername
		it.hold = &holdInfo{createdAt: h.CreatedAt, note: h.Note, extRef: h.ExternalRef}
		out = s.eng.submit(ctx, it)
	}
	if err != nil {
		return result{}, err
	}
	return resultOf(ctx, out)
}

// SettleHold moves a held amount to the settlement account.
func (s *Service) SettleHold(ctx context.Context, req api.SettleHoldRequestObject) (api.SettleHoldResponseObject, error) {
	r, err := s.finishHold(ctx, opSettle, req.Params.IdempotencyKey, req.Id)
	if err != nil {
		return nil, err
	}
	return api.SettleHold200JSONResponse{Body: r.body, Headers: api.SettleHold200ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// VoidHold releases a held amount.
func (s *Service) VoidHold(ctx context.Context, req api.VoidHoldRequestObject) (api.VoidHoldResponseObject, error) {
	r, err := s.finishHold(ctx, opVoid, req.Params.IdempotencyKey, req.Id)
	if err != nil {
		return nil, err
	}
	return api.VoidHold200JSONResponse{Body: r.body, Headers: api.VoidHold200ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// SetWalletStatus freezes or unfreezes a wallet under its row lock, audit-logged.
func (s *Service) SetWalletStatus(ctx context.Context, req api.SetWalletStatusRequestObject) (api.SetWalletStatusResponseObject, error) {
	k, err := internalkeys.RequireScope(ctx, ScopeAdmin)
	if err != nil {
		return nil, err
	}
	var w db.LedgerAccount
	err = s.st.Tx(ctx, func(q *db.Queries, _ pgx.Tx) error {
		old, err := q.LockWallet(ctx, req.Id)
		if err != nil {
			return err
		}
		if old.Status == "closed" {
			return ErrWalletClosed // closed with its account (compliance): final
		}
		now := s.clock.Now()
		if w, err = q.SetWalletStatus(ctx, db.SetWalletStatusParams{ID: req.Id, Status: string(req.Body.Status), Now: now}); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: "ledger.wallet.status", UserID: *old.UserID, SubjectType: "wallet",
			SubjectID: itoa(w.ID), Details: map[string]any{"from": old.Status, "to": w.Status, "key": k.Name}})
	})
	if err != nil {
		if store.IsNotFound(err) {
			return nil, ErrWalletNotFound
		}
		if errors.Is(err, ErrWalletClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("ledger: wallet status: %w", err)
	}
	return api.SetWalletStatus200JSONResponse{Code: "WALLET_STATUS_UPDATED", Message: i18n.Msg(ctx, "WALLET_STATUS_UPDATED"), Data: s.wallet(w)}, nil
}

// CheckLedger runs the invariants.
func (s *Service) CheckLedger(ctx context.Context, _ api.CheckLedgerRequestObject) (api.CheckLedgerResponseObject, error) {
	if _, err := internalkeys.RequireScope(ctx, ScopeRead); err != nil {
		return nil, err
	}
	v, err := Check(ctx, s.st)
	if err != nil {
		return nil, err
	}
	code := "LEDGER_CHECK_OK"
	if len(v) > 0 {
		code = "LEDGER_CHECK_FAILED"
	}
	resp := api.CheckLedger200JSONResponse{Code: code, Message: i18n.Msg(ctx, code)}
	resp.Data.Ok, resp.Data.Violations = len(v) == 0, append([]string{}, v...)
	return resp, nil
}
