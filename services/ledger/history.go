package ledger

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
	"github.com/flowxi/backend/kit/reqctx"
)

// A wallet's history is read in posting order: each transaction has a position in the history
// of each of its accounts (from_pos / to_pos, see migration 00044 and place in posting.go), and
// a page is a keyset range of positions on one index path chosen from the filters.

// Index paths of the history query (ListWalletHistory's out_driver / in_driver).
const (
	pathNone   = "" // the stream is not read
	pathAll    = "all"
	pathKind   = "kind"
	pathStatus = "status" // out only: statuses other than posted
	pathOther  = "other"
)

// The instants no history reaches: the bounds of an open time range.
var (
	beforeAll = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	afterAll  = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// ListWalletTransactions returns one keyset page of a wallet's history, newest first in posting
// order, with the filters of the request.
func (s *Service) ListWalletTransactions(ctx context.Context, req api.ListWalletTransactionsRequestObject) (api.ListWalletTransactionsResponseObject, error) {
	w, err := s.ownedWallet(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	arg, err := historyParams(req.Id, req.Params)
	if err != nil {
		return nil, err
	}
	var rows []db.ListWalletHistoryRow
	err = s.historyTx(ctx, func(q *db.Queries) error {
		if ok, err := narrowHistory(ctx, q, &arg, w.Currency, req.Params); err != nil || !ok {
			return err
		}
		if err := q.PlanHistoryInIndexOrder(ctx); err != nil {
			return err
		}
		rows, err = q.ListWalletHistory(ctx, arg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: history: %w", err)
	}
	resp := api.ListWalletTransactions200JSONResponse{Code: "TRANSACTIONS_OK", Message: i18n.Msg(ctx, "TRANSACTIONS_OK")}
	resp.Data.Items = make([]api.HistoryItem, 0, len(rows))
	if limit := int(arg.Lim) - 1; len(rows) > limit {
		rows = rows[:limit]
		c := page.Key{Pos: rows[limit-1].Pos, ID: rows[limit-1].ID}.String()
		resp.Data.NextCursor = &c
	}
	for _, r := range rows {
		resp.Data.Items = append(resp.Data.Items, historyItem(r, req.Id))
	}
	return resp, nil
}

// historyParams checks the filters of a history request and picks the index path of each
// stream. A filter that cannot hold is 422 on its field, every failing field at once.
func historyParams(wallet int64, prm api.ListWalletTransactionsParams) (db.ListWalletHistoryParams, error) {
	arg := db.ListWalletHistoryParams{WalletID: wallet, Lim: int32(page.Limit(prm.Limit, 20) + 1),
		MaxAmount: math.MaxInt64, FromAt: beforeAll, ToAt: afterAll}
	var f apierr.Fields
	key, err := page.BeforeKey(prm.Cursor)
	if err != nil {
		return arg, err
	}
	arg.CurPos, arg.CurID = key.Pos, key.ID
	if prm.From != nil {
		arg.FromAt = microCeil(*prm.From)
	}
	if prm.To != nil {
		arg.ToAt = microCeil(*prm.To)
	}
	if prm.From != nil && prm.To != nil && prm.From.After(*prm.To) {
		f.Add("from", "before_or_equal", "to")
	}
	if prm.MinAmount != nil {
		arg.MinAmount = *prm.MinAmount
	}
	if prm.MaxAmount != nil {
		arg.MaxAmount = *prm.MaxAmount
	}
	if arg.MinAmount > arg.MaxAmount {
		f.Add("min_amount", "lte", "max_amount")
	}
	if prm.Kind != nil {
		arg.Kind = string(*prm.Kind)
	}
	if prm.Status != nil {
		arg.Status = string(*prm.Status)
	}
	arg.OutDriver, arg.InDriver = historyPaths(arg.Kind, arg.Status, prm.Counterparty != nil, prm.Direction)
	return arg, f.Err()
}

// historyPaths picks the index path of each stream: the filter with an index of its own that
// selects the fewest rows leads (a counterparty, then a status other than posted, then a kind);
// the other filters are checked on the rows it reads. Received items are all posted.
func historyPaths(kind, status string, other bool, dir *api.ListWalletTransactionsParamsDirection) (out, in string) {
	out, in = pathAll, pathAll
	switch {
	case other:
		out, in = pathOther, pathOther
	case kind != "":
		out, in = pathKind, pathKind
	}
	if status != "" && status != "posted" {
		in = pathNone
		if !other {
			out = pathStatus
		}
	}
	if dir != nil && *dir == "in" {
		out = pathNone
	}
	if dir != nil && *dir == "out" {
		in = pathNone
	}
	return out, in
}

// narrowHistory resolves the filters that name rows of other tables: the counterparty's wallet
// and the positions between from and to. False: nothing can match (an unknown counterparty, or
// both streams left out by the filters).
func narrowHistory(ctx context.Context, q *db.Queries, arg *db.ListWalletHistoryParams, currency string, prm api.ListWalletTransactionsParams) (bool, error) {
	if arg.OutDriver == pathNone && arg.InDriver == pathNone {
		return false, nil
	}
	if prm.Counterparty != nil {
		id, err := q.GetWalletByUsername(ctx, db.GetWalletByUsernameParams{Currency: currency, Username: *prm.Counterparty})
		if pg.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("ledger: history counterparty: %w", err)
		}
		arg.Other = id
	}
	if prm.From != nil || prm.To != nil {
		r, err := q.HistoryPositions(ctx, db.HistoryPositionsParams{WalletID: arg.WalletID, FromAt: arg.FromAt, ToAt: arg.ToAt})
		if err != nil {
			return false, fmt.Errorf("ledger: history range: %w", err)
		}
		if prm.From != nil {
			arg.PosLo = r.PosLo
		}
		if arg.CurPos > r.PosHi { // the page starts at the top of the range (every id at pos_hi)
			arg.CurPos, arg.CurID = r.PosHi, math.MaxInt64
		}
	}
	return true, nil
}

// historyItem renders a history row from the wallet's point of view.
func historyItem(r db.ListWalletHistoryRow, wallet int64) api.HistoryItem {
	amount := r.Amount
	if r.FromAccountID != nil && *r.FromAccountID == wallet {
		amount = -r.Amount
	}
	return api.HistoryItem{TransactionId: r.ID, Kind: api.TransactionKind(r.Kind), Status: api.TransactionStatus(r.Status),
		Amount: amount, Currency: r.Currency, BalanceAfter: r.BalanceAfter, Counterparty: r.Counterparty, Note: r.Note,
		FailureCode: r.FailureCode, CreatedAt: ts(r.CreatedAt), FinalizedAt: tsPtr(r.FinalizedAt)}
}

// GetWalletBalanceAt returns a wallet's balance and available balance as they were at an
// instant: the balance_after of its last entry at or before it, minus the holds open then.
func (s *Service) GetWalletBalanceAt(ctx context.Context, req api.GetWalletBalanceAtRequestObject) (api.GetWalletBalanceAtResponseObject, error) {
	w, err := s.ownedWallet(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	at := req.Params.At.UTC()
	if at.After(s.clock.Now()) {
		return nil, apierr.Invalid("at", "not_future")
	}
	at = at.Truncate(time.Microsecond) // the entries' precision: what is at or before it
	d := api.BalanceAt{WalletId: w.ID, Currency: w.Currency, Exponent: s.exponent(w.Currency), At: ts(at),
		WalletExisted: !at.Before(w.CreatedAt)}
	if d.WalletExisted {
		b, err := s.st.Q.GetBalanceAt(ctx, db.GetBalanceAtParams{WalletID: w.ID, At: at})
		if err != nil {
			return nil, fmt.Errorf("ledger: balance at: %w", err)
		}
		d.Balance, d.Pending, d.AvailableBalance = b.Balance, b.Pending, b.Balance-b.Pending
	}
	return api.GetWalletBalanceAt200JSONResponse{Code: "BALANCE_AT_OK", Message: i18n.Msg(ctx, "BALANCE_AT_OK"), Data: d}, nil
}

// ownedWallet reads one of the caller's wallets (WALLET_NOT_FOUND for any other).
func (s *Service) ownedWallet(ctx context.Context, id int64) (db.GetOwnedWalletRow, error) {
	p := reqctx.Caller(ctx)
	w, err := s.st.Q.GetOwnedWallet(ctx, db.GetOwnedWalletParams{ID: id, UserID: &p.UserID})
	if err != nil {
		if pg.IsNotFound(err) {
			return w, ErrWalletNotFound
		}
		return w, fmt.Errorf("ledger: wallet: %w", err)
	}
	return w, nil
}

// microCeil is t at the store's precision, rounded up: an instant of the store is at or after
// t exactly when it is at or after microCeil(t) (and before t when before microCeil(t)).
func microCeil(t time.Time) time.Time {
	u := t.UTC().Truncate(time.Microsecond)
	if u.Before(t) {
		u = u.Add(time.Microsecond)
	}
	return u
}
