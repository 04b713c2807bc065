package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
)

// CheckResult is what one `ledger check` verified.
type CheckResult struct {
	Violations []string
	// Full: everything was verified from the first entry (asked for, or no checkpoint yet);
	// otherwise only what came after the checkpoint From.
	Full bool
	// EntriesChecked counts the entries whose chain link was recomputed.
	EntriesChecked int64
	// Checkpoint is the checkpoint this check recorded (nil when it found a violation); From the
	// one an incremental check continued from.
	Checkpoint, From *int64
}

// Check runs every ledger invariant (DESIGN §5) over the whole ledger and returns the
// violations found, each as one readable line; none means the ledger is consistent (and a fresh
// checkpoint is recorded). See Verify.
func Check(ctx context.Context, st *pg.Store) ([]string, error) {
	r, err := Verify(ctx, st, true)
	return r.Violations, err
}

// checkLock serializes checks (a session advisory lock, taken before the snapshot).
const checkLock = 7_412_021

// Verify runs the ledger invariants in one snapshot (REPEATABLE READ: a movement committing
// mid-check is simply not seen) and, when it finds nothing, records a verified checkpoint in the
// same transaction (migration 00052). full re-verifies everything from the first entry;
// otherwise it verifies what came after the last checkpoint (checkIncremental), and falls back
// to full when there is none. It writes nothing else and takes no lock the engine waits on.
func Verify(ctx context.Context, st *pg.Store, full bool) (CheckResult, error) {
	started := time.Now()
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		return CheckResult{}, fmt.Errorf("ledger check: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", checkLock); err != nil {
		return CheckResult{}, fmt.Errorf("ledger check: lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", checkLock) }()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return CheckResult{}, fmt.Errorf("ledger check: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	q := st.Q.WithTx(tx)
	through, err := q.SnapshotThrough(ctx)
	if err != nil {
		return CheckResult{}, fmt.Errorf("ledger check: horizon: %w", err)
	}
	var res CheckResult
	var heads []verifiedHead
	ck, err := q.LatestCheckpoint(ctx)
	switch {
	case err != nil && !pg.IsNotFound(err):
		return CheckResult{}, fmt.Errorf("ledger check: checkpoint: %w", err)
	case full || err != nil:
		res, heads, err = checkFull(ctx, st, tx, q)
	default:
		res, heads, err = checkIncremental(ctx, tx, q, ck)
	}
	if err != nil || len(res.Violations) > 0 {
		return res, err
	}
	if res.Checkpoint, err = saveCheckpoint(ctx, q, res, heads, through, started); err != nil {
		return res, err
	}
	return res, tx.Commit(ctx)
}

// checkFull verifies the whole ledger: the set-wide invariants in SQL, on a second connection
// that shares the snapshot (pg_export_snapshot), while this one walks every chain from genesis.
func checkFull(ctx context.Context, st *pg.Store, tx pgx.Tx, q *db.Queries) (CheckResult, []verifiedHead, error) {
	res := CheckResult{Full: true}
	var snap string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		return res, nil, fmt.Errorf("ledger check: snapshot: %w", err)
	}
	var setWide []string
	sideErr := make(chan error, 1)
	go func() {
		sideErr <- inSnapshot(ctx, st, snap, func(q *db.Queries) error {
			out, err := checkBalances(ctx, q, true)
			if err != nil {
				return err
			}
			txs, err := checkTransactions(ctx, q)
			setWide = append(out, txs...)
			return err
		})
	}()
	all, err := q.ListAccountHeads(ctx)
	if err != nil {
		<-sideErr
		return res, nil, fmt.Errorf("ledger check: accounts: %w", err)
	}
	starts := make([]chainStart, len(all))
	for i, a := range all {
		starts[i] = chainStart{head: accountHead{a.ID, a.Kind, a.Balance, a.Pending, a.Version, a.LastHash, a.HistoryAt}, hash: genesis}
	}
	var w walked
	err = w.walkChains(ctx, q, starts, false)
	if sErr := <-sideErr; err == nil {
		err = sErr
	}
	if err != nil {
		return res, nil, err
	}
	res.Violations, res.EntriesChecked = append(setWide, w.out...), w.entries
	return res, w.heads, nil
}

// inSnapshot runs fn on another connection in the exported snapshot snap (read only).
func inSnapshot(ctx context.Context, st *pg.Store, snap string, fn func(q *db.Queries) error) error {
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("ledger check: %w", err)
	}
	defer conn.Release()
	side, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("ledger check: %w", err)
	}
	defer func() { _ = side.Rollback(context.Background()) }()
	if _, err := side.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snap+"'"); err != nil {
		return fmt.Errorf("ledger check: snapshot: %w", err)
	}
	return fn(st.Q.WithTx(side))
}

// checkIncremental verifies what came after checkpoint ck. It trusts the checkpoint: the rows it
// verified are not read again, except that every account's checkpointed entry must still carry
// the checkpointed hash. What it re-reads: the accounts whose head moved, that are new or that
// have entries above their checkpointed version (their chains walked on from the checkpointed
// hash, balance and instant, versions without gaps up to the head); the transactions of those
// entries, those recorded in those accounts' histories since (failed attempts, holds) and every
// one above the checkpoint's highest id; entries above its highest id. The invariants that read
// only the accounts and the open holds run whole. Per-account versions are assigned under the
// account's lock, so a snapshot holds a prefix of each chain: a movement that commits after a
// checkpoint is above it on its accounts, whatever its ids.
func checkIncremental(ctx context.Context, tx pgx.Tx, q *db.Queries, ck db.LatestCheckpointRow) (CheckResult, []verifiedHead, error) {
	res := CheckResult{From: &ck.ID}
	// Its statements are index probes whose estimated cost (arrays of ids) passes jit_above_cost:
	// compiling them took 2.1 s of a 2.3 s statement at 10^5 entries, for nothing to gain.
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return res, nil, fmt.Errorf("ledger check: %w", err)
	}
	out, err := checkBalances(ctx, q, false)
	if err != nil {
		return res, nil, err
	}
	changed, err := q.ChangedAccounts(ctx)
	if err != nil {
		return res, nil, fmt.Errorf("ledger check: changed accounts: %w", err)
	}
	starts := make([]chainStart, len(changed))
	for i, a := range changed {
		if a.Version < a.FromVersion {
			out = append(out, fmt.Sprintf("account %d: head version %d below its verified version %d", a.ID, a.Version, a.FromVersion))
		}
		starts[i] = chainStart{head: accountHead{a.ID, a.Kind, a.Balance, a.Pending, a.Version, a.LastHash, a.HistoryAt},
			version: a.FromVersion, balance: a.FromBalance, hash: a.FromHash}
		if a.FromAt != nil {
			starts[i].at = *a.FromAt
		}
	}
	w := walked{checkpoint: ck.ID}
	if err := w.walkChains(ctx, q, starts, true); err != nil {
		return res, nil, err
	}
	txs, err := checkTransactionsSince(ctx, q, ck, starts, w.txIDs)
	if err != nil {
		return res, nil, err
	}
	res.Violations, res.EntriesChecked = append(append(out, w.out...), txs...), w.entries
	return res, w.heads, nil
}

// saveCheckpoint records a clean check and the heads it verified; it returns the checkpoint's id.
func saveCheckpoint(ctx context.Context, q *db.Queries, res CheckResult, heads []verifiedHead, through db.SnapshotThroughRow, started time.Time) (*int64, error) {
	id, err := q.InsertCheckpoint(ctx, db.InsertCheckpointParams{FullCheck: res.Full, EntriesThrough: through.EntriesThrough,
		TransactionsThrough: through.TransactionsThrough, EntriesChecked: res.EntriesChecked, AccountsChecked: int64(len(heads)),
		StartedAt: started, DurationMs: time.Since(started).Milliseconds()})
	if err != nil {
		return nil, fmt.Errorf("ledger check: checkpoint: %w", err)
	}
	const page = 10_000
	for i := 0; i < len(heads); i += page {
		p := db.SaveCheckpointHeadsParams{CheckpointID: id}
		for _, h := range heads[i:min(i+page, len(heads))] {
			p.Accounts, p.Versions, p.Balances, p.Hashes = append(p.Accounts, h.id), append(p.Versions, h.version), append(p.Balances, h.balance), append(p.Hashes, h.hash)
			p.Posted, p.Pending, p.History = append(p.Posted, h.at), append(p.Pending, h.pending), append(p.History, h.historyAt)
		}
		if err := q.SaveCheckpointHeads(ctx, p); err != nil {
			return nil, fmt.Errorf("ledger check: checkpoint heads: %w", err)
		}
	}
	return &id, nil
}

// checkBalances: per currency the entries sum to zero (entrySums: read from the entries;
// otherwise from the balances, which the chain walk verifies), every head matches its entries
// (full: in SQL; incremental: by the walk), pending amounts match the open holds, no user wallet
// is negative.
func checkBalances(ctx context.Context, q *db.Queries, entrySums bool) (out []string, err error) {
	if entrySums {
		sums, err := q.CheckCurrencySums(ctx)
		if out, err = problems(out, "sums", sums, err, func(r db.CheckCurrencySumsRow) string { return currencyMsg(r.Currency, r.Total) }); err != nil {
			return nil, err
		}
		heads, err := q.CheckAccountHeads(ctx)
		if out, err = problems(out, "heads", heads, err, func(r db.CheckAccountHeadsRow) string {
			return fmt.Sprintf("account %d: balance %d, version %d; entries sum %d, count %d, max version %d",
				r.ID, r.Balance, r.Version, r.EntriesTotal, r.EntriesCount, r.MaxVersion)
		}); err != nil {
			return nil, err
		}
	} else {
		sums, err := q.CheckCurrencyBalances(ctx)
		if out, err = problems(out, "sums", sums, err, func(r db.CheckCurrencyBalancesRow) string { return currencyMsg(r.Currency, r.Total) }); err != nil {
			return nil, err
		}
	}
	pend, err := q.CheckPendingHolds(ctx)
	if out, err = problems(out, "holds", pend, err, func(r db.CheckPendingHoldsRow) string {
		return fmt.Sprintf("account %d: pending %d, open holds %d", r.ID, r.Pending, r.HoldsTotal)
	}); err != nil {
		return nil, err
	}
	neg, err := q.CheckNegativeWallets(ctx)
	if out, err = problems(out, "negative", neg, err, func(r db.CheckNegativeWalletsRow) string {
		return fmt.Sprintf("wallet %d: negative (balance %d, pending %d)", r.ID, r.Balance, r.Pending)
	}); err != nil {
		return nil, err
	}
	sign, err := q.CheckSettlementSign(ctx)
	return problems(out, "settlement", sign, err, func(r db.CheckSettlementSignRow) string {
		return fmt.Sprintf("settlement account %d (%s): balance %d, pending %d; want balance ≤ 0 and pending 0", r.ID, r.Currency, r.Balance, r.Pending)
	})
}

// problems appends to out the message of each row a check query returned (each row is one
// broken invariant); a failed query is the check's error, named by what it checks.
func problems[R any](out []string, what string, rows []R, err error, msg func(R) string) ([]string, error) {
	if err != nil {
		return nil, fmt.Errorf("ledger check: %s: %w", what, err)
	}
	for _, r := range rows {
		out = append(out, msg(r))
	}
	return out, nil
}

func currencyMsg(currency string, total int64) string {
	return fmt.Sprintf("currency %s: entries sum to %d, not 0", currency, total)
}

// checkTransactions: every transaction balances, no row points at a missing one, every
// transaction sits at its place in its accounts' histories, and every reversal mirrors a posted
// original that it and its siblings do not reverse beyond its amount.
func checkTransactions(ctx context.Context, q *db.Queries) (out []string, err error) {
	txs, err := q.CheckTransactionBalance(ctx)
	if out, err = problems(out, "transactions", txs, err, func(r db.CheckTransactionBalanceRow) string {
		return txBalanceMsg(r.ID, r.Status, r.N, r.Total)
	}); err != nil {
		return nil, err
	}
	orphans, err := q.CheckOrphans(ctx)
	if out, err = problems(out, "orphans", orphans, err, func(r db.CheckOrphansRow) string { return orphanMsg(r.Kind, r.ID, r.Ref) }); err != nil {
		return nil, err
	}
	places, err := q.CheckHistoryPositions(ctx)
	if out, err = problems(out, "history", places, err, func(r db.CheckHistoryPositionsRow) string { return positionMsg(r.ID, r.Problem) }); err != nil {
		return nil, err
	}
	rev, err := q.CheckReversals(ctx)
	return problems(out, "reversals", rev, err, func(r db.CheckReversalsRow) string { return reversalMsg(r.Kind, r.ID, r.Ref, r.Total) })
}

// checkTransactionsSince runs the transactions' invariants of checkTransactions on what came
// after the checkpoint, in one statement (CheckTransactionsSince): the transactions of the walked
// entries (txIDs) and those the statement finds above the checkpoint's horizons and in the
// re-read accounts' histories.
func checkTransactionsSince(ctx context.Context, q *db.Queries, ck db.LatestCheckpointRow, starts []chainStart, txIDs []int64) ([]string, error) {
	p := db.CheckTransactionsSinceParams{AfterEntry: ck.EntriesThrough, After: ck.TransactionsThrough}
	for _, s := range starts {
		p.Accounts, p.Versions = append(p.Accounts, s.head.id), append(p.Versions, s.version)
	}
	// Each transfer's two entries name it twice: each transaction is sent once.
	slices.Sort(txIDs)
	p.Ids = slices.Compact(txIDs)
	rows, err := q.CheckTransactionsSince(ctx, p)
	return problems(nil, "transactions", rows, err, func(r db.CheckTransactionsSinceRow) string {
		switch r.Problem {
		case "balance":
			return txBalanceMsg(r.ID, r.Status, r.N, r.Total)
		case "entry", "entry_transaction", "transaction":
			return orphanMsg(r.Problem, r.ID, r.Ref)
		case "position", "instant":
			return positionMsg(r.ID, r.Problem)
		default:
			return reversalMsg(r.Problem, r.ID, r.Ref, r.Total)
		}
	})
}

func txBalanceMsg(id int64, status string, n, total int64) string {
	return fmt.Sprintf("transaction %d (%s): %d entries summing to %d", id, status, n, total)
}

func orphanMsg(kind string, id, ref int64) string {
	return fmt.Sprintf("%s %d: points at a missing or foreign row %d", kind, id, ref)
}

func positionMsg(id int64, problem string) string {
	return fmt.Sprintf("transaction %d: %s out of its history's order", id, problem)
}

func reversalMsg(kind string, id, ref, total int64) string {
	if kind == "over_reversed" {
		return fmt.Sprintf("transaction %d: reversed by %d, more than its amount %d", id, total, ref)
	}
	return fmt.Sprintf("reversal %d: does not mirror a posted transaction %d (accounts swapped, same currency)", id, ref)
}

// accountHead is an account's head row as the check's snapshot holds it.
type accountHead struct {
	id        int64
	kind      string
	balance   int64
	pending   int64
	version   int64
	lastHash  []byte
	historyAt *time.Time
}

// chainStart is where the walk of one account's chain starts: its verified version (0: from
// genesis), running balance, hash and instant there, and its head.
type chainStart struct {
	head             accountHead
	version, balance int64
	hash             []byte
	at               time.Time
}

// verifiedHead is what a checkpoint records of one walked account (migration 00052); the zero
// times stand for NULL.
type verifiedHead struct {
	id, version, balance, pending int64
	hash                          []byte
	at, historyAt                 time.Time
}

// walked is what walkChains found: violations, the verified heads, entries read and (when asked)
// the transactions of the entries read; checkpoint is the one an incremental walk continues from.
type walked struct {
	checkpoint int64
	out        []string
	heads      []verifiedHead
	entries    int64
	txIDs      []int64
}

// walkChains walks each account's entries above its start in version order: each entry's
// prev_hash is the previous hash, its hash recomputes, its balance_after is the running sum, on a
// user wallet it was not posted before the previous one (statements cut periods by these
// instants), and the account head holds the last hash. incremental also checks here what the
// full check reads in SQL (CheckAccountHeads): versions follow without a gap up to the head's,
// whose balance is the running sum; and collects the entries' transactions.
func (w *walked) walkChains(ctx context.Context, q *db.Queries, starts []chainStart, incremental bool) error {
	const page = 500
	for i := 0; i < len(starts); i += page {
		part := starts[i:min(i+page, len(starts))]
		p := db.ListEntriesSinceParams{}
		for _, s := range part {
			p.Accounts, p.Versions = append(p.Accounts, s.head.id), append(p.Versions, s.version)
		}
		rows, err := q.ListEntriesSince(ctx, p)
		if err != nil {
			return fmt.Errorf("ledger check: entries: %w", err)
		}
		k := 0
		for _, s := range part {
			n := k
			for n < len(rows) && rows[n].AccountID == s.head.id {
				n++
			}
			w.walkOne(s, rows[k:n], incremental)
			k = n
		}
		if k != len(rows) {
			return errors.New("ledger check: entries out of account order")
		}
	}
	return nil
}

// walkOne walks one account's entries from its start (see walkChains): from a verified version,
// rows begin with the verified entry, which must still carry the verified hash.
func (w *walked) walkOne(s chainStart, rows []db.ListEntriesSinceRow, incremental bool) {
	h := s.head
	prev, bal, at, ver := s.hash, s.balance, s.at, s.version
	if ver > 0 {
		if len(rows) == 0 || rows[0].Version != ver || !bytes.Equal(rows[0].Hash, prev) {
			w.out = append(w.out, fmt.Sprintf("account %d: entry %d no longer carries the hash verified at checkpoint %d", h.id, ver, w.checkpoint))
		}
		if len(rows) > 0 && rows[0].Version == ver {
			rows = rows[1:]
		}
	}
	w.entries += int64(len(rows))
	for _, e := range rows {
		bal += e.Amount
		if incremental && e.Version != ver+1 {
			w.out = append(w.out, fmt.Sprintf("account %d: version %d follows version %d", h.id, e.Version, ver))
		}
		if h.kind == "user" && e.CreatedAt.Before(at) {
			w.out = append(w.out, fmt.Sprintf("account %d: version %d posted at %s, before version %d", h.id, e.Version, ts(e.CreatedAt), e.Version-1))
		}
		want := entryHash(prev, e.AccountID, e.Version, e.TransactionID, e.Amount, e.BalanceAfter, e.CreatedAt)
		if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, want) {
			w.out = append(w.out, fmt.Sprintf("account %d: hash chain broken at version %d", h.id, e.Version))
		}
		if e.BalanceAfter != bal {
			w.out = append(w.out, fmt.Sprintf("account %d: balance_after %d at version %d, running sum %d", h.id, e.BalanceAfter, e.Version, bal))
		}
		if incremental {
			w.txIDs = append(w.txIDs, e.TransactionID)
		}
		prev, at, ver = e.Hash, e.CreatedAt, e.Version
	}
	if !bytes.Equal(h.lastHash, prev) {
		w.out = append(w.out, fmt.Sprintf("account %d: head hash does not match its last entry", h.id))
	}
	if incremental && (h.version != ver || h.balance != bal) {
		w.out = append(w.out, fmt.Sprintf("account %d: balance %d, version %d; entries sum %d, last version %d", h.id, h.balance, h.version, bal, ver))
	}
	vh := verifiedHead{id: h.id, version: ver, balance: bal, pending: h.pending, hash: prev, at: at}
	if h.historyAt != nil {
		vh.historyAt = *h.historyAt
	}
	w.heads = append(w.heads, vh)
}
