package compliance

import (
	"context"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
)

// CloseUserAccount closes an account for good: refused while a wallet holds money or a pending
// hold; otherwise every token is revoked and every wallet closed in the same transaction.
func (s *Compliance) CloseUserAccount(ctx context.Context, req api.CloseUserAccountRequestObject) (api.CloseUserAccountResponseObject, error) {
	d, err := s.setStatus(ctx, req.Id, req.Body.Reason, "closed", "compliance.account.closed", func(q *db.Queries, u db.User) error {
		if err := s.closeWallets(ctx, q, u.ID); err != nil {
			return err
		}
		return s.notify(ctx, q, u, "account_closed", nil)
	})
	if err != nil {
		return nil, err
	}
	return api.CloseUserAccount200JSONResponse{Code: "ACCOUNT_CLOSED", Message: i18n.Msg(ctx, "ACCOUNT_CLOSED"), Data: d}, nil
}

// closeWallets locks the user's wallets, refuses with ACCOUNT_NOT_EMPTY when one has a balance
// or a pending hold, and closes them. The user row is locked first by the caller; the ledger
// never locks user rows, so the lock order cannot cycle.
func (s *Compliance) closeWallets(ctx context.Context, q *db.Queries, userID int64) error {
	ws, err := q.LockUserWalletsForClosure(ctx, &userID)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.Balance != 0 || w.Pending != 0 {
			return ErrNotEmpty
		}
	}
	holds, err := q.CountUserOpenHolds(ctx, &userID)
	if err != nil {
		return err
	}
	if holds > 0 {
		return ErrNotEmpty
	}
	now := s.clock.Now()
	n, err := q.CloseUserWallets(ctx, db.CloseUserWalletsParams{UserID: &userID, UpdatedAt: now})
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.Status != "closed" {
			if err := events.Record(ctx, q, now, events.WalletStatus(w.ID, userID, w.Currency, w.Status, "closed", api.AccountClosed)); err != nil {
				return err
			}
		}
	}
	return audit.Record(ctx, q, now, audit.Event{Action: "compliance.wallets.closed", UserID: userID,
		SubjectType: "user", SubjectID: strconv.FormatInt(userID, 10), Details: map[string]any{"wallets": n}})
}
