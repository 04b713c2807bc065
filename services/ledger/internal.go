package ledger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/identity/internalkeys"
)

// Scopes of the internal ledger operations, for callers that create keys (tests, benchmarks). The
// spec's security requirements say which operation needs which, and the HTTP layer enforces them.
const (
	ScopeDeposit  = "ledger:deposit"
	ScopeWithdraw = "ledger:withdraw"
	ScopeAdmin    = "ledger:admin"
	ScopeRead     = "ledger:read"
)

// DefaultHoldExpiry is how long a hold stays pending when its request names no expires_in.
const DefaultHoldExpiry = 7 * 24 * time.Hour

// move is a deposit or a hold on a wallet named by an internal caller.
type move struct {
	walletID, amount int64
	currency, extRef string
	expiresIn        time.Duration // holds
}

// walletMove prepares a deposit or a hold and submits it; the money policy decides it.
func (s *Service) walletMove(ctx context.Context, o op, key string, m move) (result, error) {
	out, err := s.submitMove(ctx, o, key, m)
	if err != nil {
		return result{}, err
	}
	return resultOf(ctx, out)
}

// submitMove builds the item of a deposit or a hold and submits it.
func (s *Service) submitMove(ctx context.Context, o op, key string, m move) (outcome, error) {
	k, err := internalkeys.Caller(ctx)
	if err != nil {
		return outcome{}, err
	}
	if err := s.supported("currency", m.currency); err != nil {
		return outcome{}, err
	}
	name := map[op]string{opDeposit: "deposit", opHold: "hold"}[o]
	fields := []string{itoa(m.walletID), itoa(m.amount), m.currency, m.extRef}
	if o == opHold {
		fields = append(fields, itoa(int64(m.expiresIn/time.Second)))
	}
	it := &item{ctx: ctx, op: o, caller: callerOfKey(k.ID), key: key, initType: "internal_key", initID: k.Name,
		amount: m.amount, currency: m.currency, extRef: m.extRef, expiresIn: m.expiresIn, reqHash: requestHash(name, fields...)}
	w, err := s.st.Q.GetWallet(ctx, m.walletID)
	if err != nil {
		if pg.IsNotFound(err) {
			return s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrWalletNotFound)
		}
		return outcome{}, fmt.Errorf("ledger: wallet: %w", err)
	}
	settlement, err := s.systemAccount(ctx, "settlement", m.currency)
	if err != nil {
		return outcome{}, err
	}
	it.userID = *w.UserID
	if o == opDeposit {
		it.debit, it.credit, it.toUser = settlement, w.ID, w.Username
	} else {
		it.debit, it.credit, it.fromUser = w.ID, settlement, w.Username
	}
	return s.eng.submit(ctx, it), nil
}

// CreateDeposit credits a wallet from the currency's settlement account.
func (s *Service) CreateDeposit(ctx context.Context, req api.CreateDepositRequestObject) (api.CreateDepositResponseObject, error) {
	b := req.Body
	r, err := s.walletMove(ctx, opDeposit, req.Params.IdempotencyKey,
		move{walletID: b.WalletId, amount: b.Amount, currency: b.Currency, extRef: b.ExternalReference})
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusConflict:
		return api.CreateDeposit409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	case http.StatusForbidden:
		return api.CreateDeposit403JSONResponse{MoneyForbiddenJSONResponse: r.forbidden()}, nil
	}
	return api.CreateDeposit201JSONResponse{Body: r.body, Headers: api.CreateDeposit201ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// CreateHold reserves an amount on a wallet: the first phase of a withdrawal.
func (s *Service) CreateHold(ctx context.Context, req api.CreateHoldRequestObject) (api.CreateHoldResponseObject, error) {
	b := req.Body
	expiry := DefaultHoldExpiry
	if b.ExpiresIn != nil {
		expiry = time.Duration(*b.ExpiresIn) * time.Second
	}
	r, err := s.walletMove(ctx, opHold, req.Params.IdempotencyKey,
		move{walletID: b.WalletId, amount: b.Amount, currency: b.Currency, extRef: b.ExternalReference, expiresIn: expiry})
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusConflict:
		return api.CreateHold409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	case http.StatusForbidden:
		return api.CreateHold403JSONResponse{MoneyForbiddenJSONResponse: r.forbidden()}, nil
	}
	return api.CreateHold201JSONResponse{Body: r.body, Headers: api.CreateHold201ResponseHeaders{IdempotentReplayed: r.replay}}, nil
}

// finishHold settles or voids a pending hold.
func (s *Service) finishHold(ctx context.Context, o op, key string, holdID int64) (result, error) {
	k, err := internalkeys.Caller(ctx)
	if err != nil {
		return result{}, err
	}
	it := &item{ctx: ctx, op: o, caller: callerOfKey(k.ID), key: key, initType: "internal_key", initID: k.Name}
	out, err := s.submitFinish(ctx, it, holdID)
	if err != nil {
		return result{}, err
	}
	return resultOf(ctx, out)
}

// submitFinish reads the hold named by a settle or void item and submits it.
func (s *Service) submitFinish(ctx context.Context, it *item, holdID int64) (outcome, error) {
	it.holdID = holdID
	it.reqHash = requestHash(map[op]string{opSettle: "settle", opVoid: "void"}[it.op], itoa(holdID))
	h, err := s.st.Q.GetHold(ctx, holdID)
	switch {
	case pg.IsNotFound(err):
		return s.storedOr(ctx, it.caller, it.key, it.reqHash, ErrHoldNotFound)
	case err != nil:
		return outcome{}, fmt.Errorf("ledger: hold: %w", err)
	case h.Status != "pending":
		// Final already: a retry of the request that finished it replays; anything else is 409.
		refusal := ErrHoldNotPending
		if it.op == opSettle && h.Status == "voided" && h.ExpiresAt != nil && h.FinalizedAt != nil && !h.FinalizedAt.Before(*h.ExpiresAt) {
			refusal = ErrHoldExpired
		}
		return s.storedOr(ctx, it.caller, it.key, it.reqHash, refusal)
	}
	it.debit, it.credit, it.amount, it.currency = *h.FromAccountID, *h.ToAccountID, h.Amount, h.Currency
	it.userID, it.fromUser = *h.OwnerID, h.OwnerUsername
	it.hold = &holdInfo{createdAt: h.CreatedAt, note: h.Note, extRef: h.ExternalRef}
	return s.eng.submit(ctx, it), nil
}

// SettleHold moves a held amount to the settlement account, if the money policy allows it.
func (s *Service) SettleHold(ctx context.Context, req api.SettleHoldRequestObject) (api.SettleHoldResponseObject, error) {
	r, err := s.finishHold(ctx, opSettle, req.Params.IdempotencyKey, req.Id)
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusConflict:
		return api.SettleHold409JSONResponse{MoneyRejectedJSONResponse: r.rejection()}, nil
	case http.StatusForbidden:
		return api.SettleHold403JSONResponse{MoneyForbiddenJSONResponse: r.forbidden()}, nil
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

// ExpireHolds voids the pending holds past their expiry, through the engine like any void (under
// the wallet's lock, audited as ledger.hold.expired by the system). Each expiry has its own
// idempotency key, so two instances sweeping at once void a hold once. It returns how many it
// voided.
func (s *Service) ExpireHolds(ctx context.Context) (int, error) {
	ids, err := s.st.Q.ListExpiredHolds(ctx, db.ListExpiredHoldsParams{Now: s.clock.Now(), Lim: 200})
	if err != nil {
		return 0, fmt.Errorf("ledger: expired holds: %w", err)
	}
	n := 0
	for _, id := range ids {
		it := &item{ctx: ctx, op: opVoid, caller: "s:expiry", key: "expire:" + itoa(id), initType: "system", expiry: true}
		o, err := s.submitFinish(ctx, it, id)
		if err == nil {
			err = o.err
		}
		switch {
		case err == nil && !o.replayed:
			n++
		case err == nil, errors.Is(err, ErrHoldNotPending), errors.Is(err, ErrInProgress), errors.Is(err, ErrHoldNotFound):
			// Voided by another sweep, or finished meanwhile: nothing to do.
		default:
			return n, err
		}
	}
	return n, nil
}

// SetWalletStatus freezes or unfreezes a wallet under its row lock, audit-logged.
func (s *Service) SetWalletStatus(ctx context.Context, req api.SetWalletStatusRequestObject) (api.SetWalletStatusResponseObject, error) {
	k, err := internalkeys.Caller(ctx)
	if err != nil {
		return nil, err
	}
	var w db.LedgerAccount
	err = s.st.Tx(ctx, func(q *db.Queries) error {
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
		if err := audit.Record(ctx, q, now, audit.Event{Action: "ledger.wallet.status", UserID: *old.UserID, SubjectType: "wallet",
			SubjectID: itoa(w.ID), Details: map[string]any{"from": old.Status, "to": w.Status, "key": k.Name}}); err != nil {
			return err
		}
		if old.Status == w.Status {
			return nil // no change: no event
		}
		return events.Record(ctx, q, now, events.WalletStatus(w.ID, *old.UserID, w.Currency, old.Status, w.Status, api.Internal))
	})
	if err != nil {
		if pg.IsNotFound(err) {
			return nil, ErrWalletNotFound
		}
		if errors.Is(err, ErrWalletClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("ledger: wallet status: %w", err)
	}
	return api.SetWalletStatus200JSONResponse{Code: "WALLET_STATUS_UPDATED", Message: i18n.Msg(ctx, "WALLET_STATUS_UPDATED"), Data: s.wallet(w)}, nil
}

// CheckLedger runs the invariants: incremental from the last checkpoint, or full (Verify).
func (s *Service) CheckLedger(ctx context.Context, req api.CheckLedgerRequestObject) (api.CheckLedgerResponseObject, error) {
	r, err := Verify(ctx, s.st, req.Params.Full != nil && *req.Params.Full)
	if err != nil {
		return nil, err
	}
	code := "LEDGER_CHECK_OK"
	if len(r.Violations) > 0 {
		code = "LEDGER_CHECK_FAILED"
	}
	resp := api.CheckLedger200JSONResponse{Code: code, Message: i18n.Msg(ctx, code)}
	resp.Data.Ok, resp.Data.Violations = len(r.Violations) == 0, append([]string{}, r.Violations...)
	resp.Data.Mode, resp.Data.EntriesChecked = api.LedgerCheckIncremental, r.EntriesChecked
	if r.Full {
		resp.Data.Mode = api.LedgerCheckFull
	}
	resp.Data.CheckpointId, resp.Data.FromCheckpointId = r.Checkpoint, r.From
	return resp, nil
}
