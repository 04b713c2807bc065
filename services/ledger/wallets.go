package ledger

import (
	"context"
	"fmt"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/i18n"
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

// wallet renders an account row.
func (s *Service) wallet(r db.LedgerAccount) api.Wallet {
	return api.Wallet{Id: r.ID, Currency: r.Currency, Exponent: s.exponent(r.Currency), Balance: r.Balance, AvailableBalance: r.Balance - r.Pending,
		Pending: r.Pending, Status: api.WalletStatus(r.Status), CreatedAt: ts(r.CreatedAt)}
}

// ViewWallet renders a wallet row as the API shows it (support's user lookup).
func (s *Service) ViewWallet(r db.LedgerAccount) api.Wallet { return s.wallet(r) }

// exponent is the digits of a currency's minor unit (also for a currency no longer offered).
func (s *Service) exponent(currency string) int {
	if e, ok := s.cur.exponent(currency); ok {
		return e
	}
	return exponentOf(currency)
}
