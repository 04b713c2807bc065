package ledger

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
)

// Check runs every ledger invariant (DESIGN §5) and returns the violations found, each as one
// readable line; none means the ledger is consistent. It reads committed data only and takes no
// lock, so it can run on a live system (a movement committing mid-check can be reported; run it
// again to confirm).
func Check(ctx context.Context, st *pg.Store) ([]string, error) {
	out, err := checkBalances(ctx, st.Q)
	if err != nil {
		return nil, err
	}
	txs, err := checkTransactions(ctx, st.Q)
	if err != nil {
		return nil, err
	}
	chain, err := checkChains(ctx, st)
	if err != nil {
		return nil, err
	}
	return append(append(out, txs...), chain...), nil
}

// checkBalances: per currency the entries sum to zero, every head matches its entries, pending
// amounts match the open holds, no user wallet is negative.
func checkBalances(ctx context.Context, q *db.Queries) ([]string, error) {
	var out []string
	sums, err := q.CheckCurrencySums(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: sums: %w", err)
	}
	for _, r := range sums {
		out = append(out, fmt.Sprintf("currency %s: entries sum to %d, not 0", r.Currency, r.Total))
	}
	heads, err := q.CheckAccountHeads(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: heads: %w", err)
	}
	for _, r := range heads {
		out = append(out, fmt.Sprintf("account %d: balance %d, version %d; entries sum %d, count %d, max version %d",
			r.ID, r.Balance, r.Version, r.EntriesTotal, r.EntriesCount, r.MaxVersion))
	}
	pend, err := q.CheckPendingHolds(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: holds: %w", err)
	}
	for _, r := range pend {
		out = append(out, fmt.Sprintf("account %d: pending %d, open holds %d", r.ID, r.Pending, r.HoldsTotal))
	}
	neg, err := q.CheckNegativeWallets(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: negative: %w", err)
	}
	for _, r := range neg {
		out = append(out, fmt.Sprintf("wallet %d: negative (balance %d, pending %d)", r.ID, r.Balance, r.Pending))
	}
	return out, nil
}

// checkTransactions: every transaction balances, the settlement accounts have the sign of the
// outside world, no row points at a missing one, and every reversal mirrors a posted original
// that it and its siblings do not reverse beyond its amount.
func checkTransactions(ctx context.Context, q *db.Queries) ([]string, error) {
	var out []string
	txs, err := q.CheckTransactionBalance(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: transactions: %w", err)
	}
	for _, r := range txs {
		out = append(out, fmt.Sprintf("transaction %d (%s): %d entries summing to %d", r.ID, r.Status, r.N, r.Total))
	}
	sign, err := q.CheckSettlementSign(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: settlement: %w", err)
	}
	for _, r := range sign {
		out = append(out, fmt.Sprintf("settlement account %d (%s): balance %d, pending %d; want balance ≤ 0 and pending 0", r.ID, r.Currency, r.Balance, r.Pending))
	}
	orphans, err := q.CheckOrphans(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: orphans: %w", err)
	}
	for _, r := range orphans {
		out = append(out, fmt.Sprintf("%s %d: points at a missing or foreign row %d", r.Kind, r.ID, r.Ref))
	}
	rev, err := q.CheckReversals(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: reversals: %w", err)
	}
	for _, r := range rev {
		if r.Kind == "over_reversed" {
			out = append(out, fmt.Sprintf("transaction %d: reversed by %d, more than its amount %d", r.ID, r.Total, r.Ref))
		} else {
			out = append(out, fmt.Sprintf("reversal %d: does not mirror a posted transaction %d (accounts swapped, same currency)", r.ID, r.Ref))
		}
	}
	return out, nil
}

// checkChains walks every account's entries in version order: each entry's prev_hash is the
// previous hash, its hash recomputes, its balance_after is the running sum, on a user wallet it
// was not posted before the previous one (statements cut periods by these instants), and the
// account head holds the last hash.
func checkChains(ctx context.Context, st *pg.Store) ([]string, error) {
	heads, err := st.Q.ListAccountHeads(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger check: accounts: %w", err)
	}
	var out []string
	const page = 500
	for i := 0; i < len(heads); i += page {
		j := min(i+page, len(heads))
		after := int64(0)
		if i > 0 {
			after = heads[i-1].ID
		}
		rows, err := st.Q.ListEntriesForChain(ctx, listEntriesParams(after, heads[j-1].ID))
		if err != nil {
			return nil, fmt.Errorf("ledger check: entries: %w", err)
		}
		k := 0
		for _, h := range heads[i:j] {
			prev, bal, at := genesis, int64(0), time.Time{}
			for ; k < len(rows) && rows[k].AccountID == h.ID; k++ {
				e := rows[k]
				bal += e.Amount
				if h.Kind == "user" && e.CreatedAt.Before(at) {
					out = append(out, fmt.Sprintf("account %d: version %d posted at %s, before version %d", h.ID, e.Version, ts(e.CreatedAt), e.Version-1))
				}
				at = e.CreatedAt
				want := entryHash(prev, e.AccountID, e.Version, e.TransactionID, e.Amount, e.BalanceAfter, e.CreatedAt)
				if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, want) {
					out = append(out, fmt.Sprintf("account %d: hash chain broken at version %d", h.ID, e.Version))
				}
				if e.BalanceAfter != bal {
					out = append(out, fmt.Sprintf("account %d: balance_after %d at version %d, running sum %d", h.ID, e.BalanceAfter, e.Version, bal))
				}
				prev = e.Hash
			}
			if !bytes.Equal(h.LastHash, prev) {
				out = append(out, fmt.Sprintf("account %d: head hash does not match its last entry", h.ID))
			}
		}
	}
	return out, nil
}

func listEntriesParams(after, to int64) db.ListEntriesForChainParams {
	return db.ListEntriesForChainParams{AfterAccount: after, ToAccount: to}
}
