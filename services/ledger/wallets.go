package ledger

import (
	"context"
	"fmt"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// ListWallets returns the caller's wallets.
func (s *Service) ListWallets(ctx context.Context, _ api.ListWalletsRequestObject) (api.ListWalletsResponseObject, error) {
	p := reqctx.Caller(ctx)
	rows, err := s.st.Q.ListUserWallets(ctx, &p.UserID)
	if err != nil {
		return nil, fmt.Errorf("ledger: wallets: %w", err)
	}
	out := make([]api.Wallet, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.wallet(r))
	}
	return api.ListWallets200JSONResponse{Code: "WALLETS_OK", Message: i18n.Msg(ctx, "WALLETS_OK"), Data: out}, nil
}

// CreateWallet opens the caller's wallet in an offered currency (one per currency).
func (s *Service) CreateWallet(ctx context.Context, req api.CreateWalletRequestObject) (api.CreateWalletResponseObject, error) {
	p := reqctx.Caller(ctx)
	if err := s.supported("currency", req.Body.Currency); err != nil {
		return nil, err
	}
	var w db.LedgerAccount
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		var err error
		now := s.clock.Now()
		w, err = q.CreateWallet(ctx, db.CreateWalletParams{UserID: &p.UserID, Currency: req.Body.Currency, Now: now})
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{Action: "ledger.wallet.created", UserID: p.UserID,
			SubjectType: "wallet", SubjectID: itoa(w.ID), Details: map[string]any{"currency": w.Currency}}); err != nil {
			return err
		}
		return events.Record(ctx, q, now, events.Event{Type: events.WalletOpened, SubjectType: events.SubjectWallet,
			SubjectID: itoa(w.ID), UserID: p.UserID, Data: api.WalletOpenedEventData{WalletId: w.ID, Currency: w.Currency}})
	})
	if err != nil {
		if pg.IsUniqueViolation(err) {
			return nil, ErrWalletExists
		}
		return nil, fmt.Errorf("ledger: create wallet: %w", err)
	}
	return api.CreateWallet201JSONResponse{Code: "WALLET_CREATED", Message: i18n.Msg(ctx, "WALLET_CREATED"), Data: s.wallet(w)}, nil
}

// ListWalletTransactions returns one keyset page of a wallet's history, newest first.
func (s *Service) ListWalletTransactions(ctx context.Context, req api.ListWalletTransactionsRequestObject) (api.ListWalletTransactionsResponseObject, error) {
	p := reqctx.Caller(ctx)
	if _, err := s.st.Q.GetOwnedWallet(ctx, db.GetOwnedWalletParams{ID: req.Id, UserID: &p.UserID}); err != nil {
		if pg.IsNotFound(err) {
			return nil, ErrWalletNotFound
		}
		return nil, fmt.Errorf("ledger: wallet: %w", err)
	}
	limit := page.Limit(req.Params.Limit, 20)
	before, err := page.Before(req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Q.ListWalletTransactions(ctx, db.ListWalletTransactionsParams{WalletID: req.Id, BeforeID: before, Lim: int32(limit + 1)})
	if err != nil {
		return nil, fmt.Errorf("ledger: history: %w", err)
	}
	var next *string
	if len(rows) > limit {
		rows = rows[:limit]
		c := itoa(rows[limit-1].ID)
		next = &c
	}
	resp := api.ListWalletTransactions200JSONResponse{Code: "TRANSACTIONS_OK", Message: i18n.Msg(ctx, "TRANSACTIONS_OK")}
	resp.Data.Items = make([]api.HistoryItem, 0, len(rows))
	resp.Data.NextCursor = next
	for _, r := range rows {
		amount := r.Amount
		switch {
		case r.EntryAmount != nil:
			amount = *r.EntryAmount
		case r.FromAccountID != nil && *r.FromAccountID == req.Id:
			amount = -r.Amount
		}
		resp.Data.Items = append(resp.Data.Items, api.HistoryItem{TransactionId: r.ID, Kind: api.TransactionKind(r.Kind),
			Status: api.TransactionStatus(r.Status), Amount: amount, Currency: r.Currency, BalanceAfter: r.BalanceAfter,
			Counterparty: r.Counterparty, Note: r.Note, FailureCode: r.FailureCode, CreatedAt: ts(r.CreatedAt)})
	}
	return resp, nil
}

// wallet renders an account row.
func (s *Service) wallet(r db.LedgerAccount) api.Wallet {
	e, _ := s.cur.exponent(r.Currency)
	if _, ok := s.cur[r.Currency]; !ok {
		e = exponentOf(r.Currency)
	}
	return api.Wallet{Id: r.ID, Currency: r.Currency, Exponent: e, Balance: r.Balance, AvailableBalance: r.Balance - r.Pending,
		Pending: r.Pending, Status: api.WalletStatus(r.Status), CreatedAt: ts(r.CreatedAt)}
}
