package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// Growth benchmark (issue 21, point 4): one ledger grown to GROWTH_SIZES entries (1e5,1e6,1e7)
// and measured at each size. Tunables (environment): GROWTH_SIZES, LEDGER_BENCH_CLIENTS (32),
// GROWTH_PHASE (8s, the spread phase), LEDGER_BENCH_WALLETS (10000), GROWTH_HISTORY_SAMPLES
// (2000 per read: a p99 of 500 samples, their fifth largest, moved the ratios by ±0.5 from run
// to run).
//
// The ledger is the ledger benchmark's (lbSetup: wallets with tokens, funded through the engine);
// each step appends history to it with COPY (grSeed) until it holds the step's count of
// entries: transfers between random wallets, deposits, refused attempts, each row exactly what
// the posting engine writes (positions, versions, running balances, hash chains, head rows and
// instants), continuing from the heads the engine left, with every index of the schema in place.
// Then, at that size:
//   - `ledger check --full` (which records a checkpoint) and its time;
//   - spread transfers over HTTP (the ledger benchmark's harness): transfers/s, p99, and the
//     WAL bytes per transfer (pg_current_wal_lsn before and after: cluster-wide, so other
//     databases' writes fall in it on a shared server);
//   - the incremental `ledger check` after it (what the spread phase added) and its time;
//   - p99 of a history's first page and of a deep page (a cursor in the middle of the wallet's
//     history), one client, rotating among 50 wallets;
//   - the bytes of the ledger's tables and indexes, per entry.
//
// It prints one line per size and the ratios to the first size (the targets: transfers/s
// ≥ 0.9×, p99s ≤ 1.5×). Nothing timed is asserted; the seed passes `ledger check` at every step.
func BenchmarkGrowth(b *testing.B) {
	sizes := grSizes(b)
	clients := lbEnvInt("LEDGER_BENCH_CLIENTS", 32)
	phase := lbEnvDur("GROWTH_PHASE", 8*time.Second)
	nWallets := lbEnvInt("LEDGER_BENCH_WALLETS", 10_000)
	samples := lbEnvInt("GROWTH_HISTORY_SAMPLES", 2000)
	for i := 0; i < b.N; i++ {
		dbURL := testkit.FreshDatabase(b)
		lb := lbSetup(b, clients, nWallets, func(c *config.Config) {
			c.DatabaseURL = lbWithParam(dbURL, "pool_max_conns", strconv.Itoa(clients*2+8))
		})
		var rows []grRow
		for _, size := range sizes {
			rows = append(rows, grStep(b, lb, size, clients, phase, samples))
			b.Log(rows[len(rows)-1].String())
		}
		out := grReport(rows)
		b.Log(out)
		fmt.Print(out)
		last := rows[len(rows)-1]
		b.ReportMetric(last.rate/rows[0].rate, "rate-last/first")
	}
}

// grRow is what one size measured.
type grRow struct {
	entries, transfers              int64
	seed, vacuum                    time.Duration
	rate                            float64
	p99, first, deep                time.Duration
	bytes, walPerTx                 int64
	full, incremental               time.Duration
	fullEntries, incrementalEntries int64
	load                            string
}

func (r grRow) String() string {
	return fmt.Sprintf("%11d %9.0f %9s %9s %9s %8.0f %8d %9s %9s (%d entries) %8s %8s  %s",
		r.entries, r.rate, hbRound(r.p99), hbRound(r.first), hbRound(r.deep), float64(r.bytes)/float64(r.entries), r.walPerTx,
		r.full.Round(time.Millisecond), r.incremental.Round(time.Millisecond), r.incrementalEntries,
		r.seed.Round(time.Second), r.vacuum.Round(time.Second), r.load)
}

func grReport(rows []grRow) string {
	var out strings.Builder
	fmt.Fprintf(&out, "\ngrowth bench: one ledger, spread over HTTP (%d clients), history reads one client\n", lbEnvInt("LEDGER_BENCH_CLIENTS", 32))
	fmt.Fprintf(&out, "%11s %9s %9s %9s %9s %8s %8s %9s %9s %8s %8s  %s\n", "entries", "xfer/s", "xfer p99", "first p99", "deep p99",
		"B/entry", "WAL/xfer", "check", "incr.", "seed", "vacuum", "load avg")
	for _, r := range rows {
		fmt.Fprintln(&out, r.String())
	}
	f, l := rows[0], rows[len(rows)-1]
	fmt.Fprintf(&out, "last/first: transfers/s %.2f (target ≥ 0.9), transfer p99 %.2f, first page p99 %.2f, deep page p99 %.2f (targets ≤ 1.5)\n",
		l.rate/f.rate, grRatio(l.p99, f.p99), grRatio(l.first, f.first), grRatio(l.deep, f.deep))
	return out.String()
}

func grRatio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// grSizes reads GROWTH_SIZES: entry counts, comma-separated, in any float notation (1e6).
func grSizes(b *testing.B) []int64 {
	raw := os.Getenv("GROWTH_SIZES")
	if raw == "" {
		raw = "1e5,1e6,1e7"
	}
	var out []int64
	for _, s := range strings.Split(raw, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < 1 {
			b.Fatalf("GROWTH_SIZES: %q", s)
		}
		out = append(out, int64(f))
	}
	return out
}

// grStep grows the ledger to size entries and measures it.
func grStep(b *testing.B, lb *lbBench, size int64, clients int, phase time.Duration, samples int) grRow {
	ctx := context.Background()
	env := lb.env
	var r grRow
	t0 := time.Now()
	grSeed(b, env, size)
	r.seed = time.Since(t0)
	t0 = time.Now()
	if _, err := env.DB().Exec(ctx, "VACUUM ANALYZE ledger_transactions, ledger_entries, ledger_accounts"); err != nil {
		b.Fatal(err)
	}
	r.vacuum = time.Since(t0)
	env.Scan("SELECT count(*) FROM ledger_entries", nil, &r.entries)
	r.full, r.fullEntries = grCheck(b, env, true)
	var wal0, wal1 string
	env.Scan("SELECT pg_current_wal_lsn()::text", nil, &wal0)
	res := lb.measure(phase, clients, lb.spreadOp(true))
	env.Scan("SELECT pg_current_wal_lsn()::text", nil, &wal1)
	if res.errors > 0 {
		b.Fatalf("spread at %d entries: %d errors, first: %s", size, res.errors, res.firstErr)
	}
	r.rate, r.transfers = res.rate(), res.count
	_, r.p99 = res.percentiles()
	var wal int64
	env.Scan("SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint", []any{wal1, wal0}, &wal)
	r.walPerTx = wal / max(res.count, 1)
	r.incremental, r.incrementalEntries = grCheck(b, env, false)
	r.first, r.deep = grHistory(b, lb, samples)
	env.Scan(`SELECT sum(pg_total_relation_size(c))::bigint FROM unnest(ARRAY['ledger_transactions', 'ledger_entries', 'ledger_accounts']::regclass[]) c`, nil, &r.bytes)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.load = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	return r
}

// grCheck runs `ledger check` (full, or incremental from the last checkpoint) and returns its
// time and the entries it read; a violation fails the benchmark.
func grCheck(b *testing.B, env *testkit.Env, full bool) (time.Duration, int64) {
	t0 := time.Now()
	res, err := ledger.Verify(context.Background(), env.Store(), full)
	d := time.Since(t0)
	if err != nil || len(res.Violations) > 0 {
		b.Fatalf("ledger check (full %v): %v %v", full, err, res.Violations)
	}
	return d, res.EntriesChecked
}

// grHistory measures p99 of a history's first page and of a deep page (the middle of the
// wallet's history), alternating, rotating among 50 of the bench's wallets.
func grHistory(b *testing.B, lb *lbBench, samples int) (time.Duration, time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	var ws []*hbWallet
	var cursors []string
	for i := 1; i <= hbPlaces; i++ {
		k := i * (len(lb.wallets) - 2) / (hbPlaces + 1)
		w := &hbWallet{id: lb.wallets[k], token: lb.tokens[k]}
		var v, tx int64
		lb.env.Scan(`SELECT e.version, e.transaction_id FROM ledger_accounts a
			JOIN ledger_entries e ON e.account_id = a.id AND e.version = greatest(a.version / 2, 1) WHERE a.id = $1`, []any{w.id}, &v, &tx)
		ws, cursors = append(ws, w), append(cursors, fmt.Sprintf("%d.%d", 2*v, tx))
	}
	var first, deep []time.Duration
	for i := 0; i < samples+2*hbPlaces; i++ { // the first round trips warm up
		w := ws[i%len(ws)]
		f := hbGet(b, client, lb.env.URL, w, w.history(""))
		d := hbGet(b, client, lb.env.URL, w, w.history("cursor="+cursors[i%len(ws)]))
		if i >= 2*hbPlaces {
			first, deep = append(first, f), append(deep, d)
		}
	}
	_, p99f := hbPercentiles(first)
	_, p99d := hbPercentiles(deep)
	return p99f, p99d
}

// Seeding -------------------------------------------------------------------------------------

// grHead is an account's head as the seed moves it.
type grHead struct {
	id, balance, version int64
	user                 bool
	hash                 []byte
	at                   time.Time
}

// grSeed appends history to the ledger until it holds size entries: it reads every account's
// head, plays movements on them in Go, copies the transactions and the entries on two
// connections at once (indexes in place), then writes the heads back.
func grSeed(b *testing.B, env *testkit.Env, size int64) {
	var have int64
	env.Scan("SELECT count(*) FROM ledger_entries", nil, &have)
	if have >= size {
		return
	}
	heads, settlement := grHeads(b, env)
	var firstID int64
	env.Scan("SELECT nextval('ledger_transactions_id_seq')", nil, &firstID)
	pl := &grPlay{heads: heads, settlement: settlement, nextTx: firstID, rng: rand.New(rand.NewPCG(uint64(size), 21)),
		txs: make(chan []any, 8192), entries: make(chan []any, 16384)}
	for _, h := range heads {
		if h.at.After(pl.now) {
			pl.now = h.at
		}
		if h.user {
			pl.wallets = append(pl.wallets, h)
		}
	}
	go pl.run(size - have)
	errs := make(chan error, 2)
	grCopy(env, "ledger_transactions", grTxColumns, pl.txs, errs)
	grCopy(env, "ledger_entries", hbEntryColumns, pl.entries, errs)
	for k := 0; k < 2; k++ {
		if err := <-errs; err != nil {
			b.Fatalf("growth seed: copy: %v", err)
		}
	}
	grWriteHeads(b, env, heads)
	env.ExecSQL("SELECT setval('ledger_transactions_id_seq', $1::bigint)", pl.nextTx-1)
}

// grCopy copies the rows of ch into table on a connection of its own.
func grCopy(env *testkit.Env, table string, cols []string, ch chan []any, errs chan<- error) {
	go func() {
		_, err := env.CopyRowsErr(table, cols, func() ([]any, error) { return <-ch, nil })
		if err != nil {
			for range ch { // let the player finish
			}
		}
		errs <- err
	}()
}

// grHeads reads every account's head.
func grHeads(b *testing.B, env *testkit.Env) (map[int64]*grHead, *grHead) {
	rows := env.Query(`SELECT id, kind, balance, version, last_hash, COALESCE(history_at, created_at) FROM ledger_accounts ORDER BY id`)
	defer rows.Close()
	heads := map[int64]*grHead{}
	var settlement *grHead
	for rows.Next() {
		h := &grHead{}
		var kind string
		if err := rows.Scan(&h.id, &kind, &h.balance, &h.version, &h.hash, &h.at); err != nil {
			b.Fatal(err)
		}
		h.user = kind == "user"
		heads[h.id] = h
		if kind == "settlement" {
			settlement = h
		}
	}
	if settlement == nil {
		b.Fatal("growth seed: no settlement account")
	}
	return heads, settlement
}

// grWriteHeads writes the played heads back to the accounts.
func grWriteHeads(b *testing.B, env *testkit.Env, heads map[int64]*grHead) {
	var ids, balances, versions []int64
	var hashes [][]byte
	var ats []time.Time
	for _, h := range heads {
		ids, balances, versions = append(ids, h.id), append(balances, h.balance), append(versions, h.version)
		hashes, ats = append(hashes, h.hash), append(ats, h.at)
	}
	env.ExecSQL(`UPDATE ledger_accounts a SET balance = v.balance, version = v.version, last_hash = v.hash, history_at = v.at, updated_at = v.at
		FROM (SELECT unnest($1::bigint[]) id, unnest($2::bigint[]) balance, unnest($3::bigint[]) version,
		             unnest($4::bytea[]) hash, unnest($5::timestamptz[]) at) v
		WHERE a.id = v.id AND (a.version, a.balance, a.history_at) IS DISTINCT FROM (v.version, v.balance, v.at)`,
		ids, balances, versions, hashes, ats)
}

// grTxColumns are the transaction columns the seed copies.
var grTxColumns = []string{"id", "kind", "status", "currency", "amount", "from_account_id", "to_account_id", "failure_code",
	"idempotency_key", "initiator_type", "initiator_id", "created_at", "finalized_at", "from_pos", "to_pos"}

// grPlay plays movements on the heads and hands their rows to the two copies.
type grPlay struct {
	heads      map[int64]*grHead
	wallets    []*grHead
	settlement *grHead
	nextTx     int64
	now        time.Time
	rng        *rand.Rand
	txs        chan []any
	entries    chan []any
}

// run plays until it has yielded n entries: 93 % transfers between random wallets (a deposit
// when the sender is short), 5 % deposits, 2 % refused transfers. The instants advance 1 µs per
// transaction from the latest head, so that along every account they never go back and the
// engine's later postings (clamped to history_at) follow them.
func (pl *grPlay) run(n int64) {
	defer close(pl.txs)
	defer close(pl.entries)
	for left := n; left > 0; {
		pl.now = pl.now.Add(time.Microsecond)
		from := pl.wallets[pl.rng.IntN(len(pl.wallets))]
		to := pl.wallets[pl.rng.IntN(len(pl.wallets))]
		amount := int64(1 + pl.rng.IntN(100))
		switch r := pl.rng.IntN(100); {
		case r < 2:
			pl.refused(from)
			continue
		case r < 7 || from.balance < amount || from == to:
			pl.posted("deposit", pl.settlement, from, amount, "internal_key", "growth")
		default:
			pl.posted("transfer", from, to, amount, "user", strconv.FormatInt(from.id, 10))
		}
		left -= 2
	}
}

// posted yields a posted transaction from → to and its two entries.
func (pl *grPlay) posted(kind string, from, to *grHead, amount int64, initType, initID string) {
	id := pl.nextTx
	pl.nextTx++
	fv, tv := pl.entry(from, id, -amount), pl.entry(to, id, amount)
	var key any
	if kind == "transfer" {
		key = "growth-" + strconv.FormatInt(id, 36)
	}
	pl.txs <- []any{id, kind, "posted", "EUR", amount, from.id, to.id, nil, key, initType, initID, pl.now, pl.now, 2 * fv, 2 * tv}
}

// entry yields one entry on h and returns its version.
func (pl *grPlay) entry(h *grHead, tx, amount int64) int64 {
	h.version++
	h.balance += amount
	hash := ledger.EntryHash(h.hash, h.id, h.version, tx, amount, h.balance, pl.now)
	pl.entries <- []any{tx, h.id, amount, h.balance, h.version, h.hash, hash, pl.now}
	h.hash, h.at = hash, pl.now
	return h.version
}

// refused yields a failed transfer (as the engine records a refusal: no recipient, no entry, at
// the odd place after the wallet's last entry).
func (pl *grPlay) refused(from *grHead) {
	id := pl.nextTx
	pl.nextTx++
	pl.txs <- []any{id, "transfer", "failed", "EUR", from.balance + 1_000_000, from.id, nil, "INSUFFICIENT_FUNDS",
		"growth-" + strconv.FormatInt(id, 36), "user", strconv.FormatInt(from.id, 10), pl.now, pl.now, 2*from.version + 1, nil}
	from.at = pl.now
}
