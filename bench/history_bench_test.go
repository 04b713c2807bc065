package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// History benchmark (issue 19): the reads of a wallet's history — first page, a deep page, a
// page under each kind of filter — and the balance at an instant, on two wallets of one database
// seeded with COPY, one with HISTORY_BENCH_SMALL (10 000) entries and one with
// HISTORY_BENCH_LARGE (1 000 000), the same mix of movements at the same pace (one every 30 s).
// Each read is sent HISTORY_BENCH_SAMPLES (1000) times to each wallet, alternating between them
// so that drift on a shared machine falls on both; it reports p50/p99 per wallet and
// p99(large)/p99(small) per read (the target: at most 1.5, a cost that does not grow
// with the history). Nothing timed is asserted. The seed keeps every ledger invariant
// (`ledger check` runs on it once) and lives in a database of its own, dropped afterwards.
//
// The reads are the table historyReads (name → request); a read that needs a wallet's dates or
// cursors takes them from hbWallet.
func BenchmarkHistory(b *testing.B) {
	small := lbEnvInt("HISTORY_BENCH_SMALL", 10_000)
	large := lbEnvInt("HISTORY_BENCH_LARGE", 1_000_000)
	samples := lbEnvInt("HISTORY_BENCH_SAMPLES", 1000)
	for i := 0; i < b.N; i++ {
		dbURL := testkit.FreshDatabase(b)
		env := testkit.New(b, func(c *config.Config) { c.DatabaseURL = dbURL })
		wallets := hbSeed(b, env, []int{small, large})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		var out strings.Builder
		fmt.Fprintf(&out, "\nhistory bench: %d samples per read and wallet, one client; p50 / p99\n", samples)
		fmt.Fprintf(&out, "%-34s %21s %21s %8s %8s\n", "read", fmt.Sprintf("%d entries", small), fmt.Sprintf("%d entries", large), "p50 ×", "p99 ×")
		worst := 0.0
		for _, rd := range historyReads {
			lat := hbMeasure(b, env, client, rd, wallets, samples)
			p50s, p99s := hbPercentiles(lat[0])
			p50l, p99l := hbPercentiles(lat[1])
			ratio := float64(p99l) / float64(p99s)
			worst = max(worst, ratio)
			fmt.Fprintf(&out, "%-34s %10s %10s %10s %10s %8.2f %8.2f\n", rd.name, hbRound(p50s), hbRound(p99s), hbRound(p50l), hbRound(p99l),
				float64(p50l)/float64(p50s), ratio)
		}
		fmt.Fprintf(&out, "worst p99 ratio %.2f (target ≤ 1.5)\n", worst)
		b.Log(out.String())
		fmt.Print(out.String())
		b.ReportMetric(worst, "p99-ratio-worst")
	}
}

// hbRequest is one read: a path with its query, and headers (a statement's Accept).
type hbRequest struct {
	path   string
	header map[string]string
}

// hbRead is a named read.
type hbRead struct {
	name    string
	request func(w *hbWallet, i int) hbRequest
}

// historyReads is the table of measured reads: name → the request for a wallet (i: the sample,
// to rotate among places spread over the history).
var historyReads = []hbRead{
	{"history: first page", func(w *hbWallet, _ int) hbRequest { return w.history("") }},
	{"history: deep page", func(w *hbWallet, i int) hbRequest { return w.history("cursor=" + w.cursors[i%len(w.cursors)]) }},
	{"history: one day (from, to)", func(w *hbWallet, i int) hbRequest { return w.history(w.day(i)) }},
	{"history: kind=deposit", func(w *hbWallet, _ int) hbRequest { return w.history("kind=deposit") }},
	{"history: kind=withdrawal", func(w *hbWallet, _ int) hbRequest { return w.history("kind=withdrawal") }},
	{"history: status=failed", func(w *hbWallet, _ int) hbRequest { return w.history("status=failed") }},
	{"history: status=pending", func(w *hbWallet, _ int) hbRequest { return w.history("status=pending") }},
	{"history: direction=in", func(w *hbWallet, _ int) hbRequest { return w.history("direction=in") }},
	{"history: direction=out", func(w *hbWallet, _ int) hbRequest { return w.history("direction=out") }},
	{"history: counterparty", func(w *hbWallet, _ int) hbRequest { return w.history("counterparty=" + w.peers[0]) }},
	{"history: min_amount (5 %)", func(w *hbWallet, _ int) hbRequest { return w.history("min_amount=9500") }},
	{"history: max_amount (3 %)", func(w *hbWallet, _ int) hbRequest { return w.history("max_amount=300") }},
	{"history: out to a peer, one day", func(w *hbWallet, i int) hbRequest {
		return w.history("kind=transfer&direction=out&counterparty=" + w.peers[1] + "&" + w.day(i))
	}},
	{"history: in, ≥ 50.00, one day", func(w *hbWallet, i int) hbRequest { return w.history("direction=in&min_amount=5000&" + w.day(i)) }},
	{"balance at an instant", func(w *hbWallet, i int) hbRequest {
		return hbRequest{path: fmt.Sprintf("/api/v1/wallets/%d/balance?at=%s", w.id, hbTime(w.instants[i%len(w.instants)]))}
	}},
	// A statement of 120 movements: one hour of the seed's pace, about a month of a busy account.
	{"statement: 120 movements, JSON", func(w *hbWallet, i int) hbRequest { return w.statement(i, "application/json") }},
	{"statement: 120 movements, PDF", func(w *hbWallet, i int) hbRequest { return w.statement(i, "application/pdf") }},
}

// statement is the statement of the hour that starts at one of the wallet's instants.
func (w *hbWallet) statement(i int, accept string) hbRequest {
	from := w.instants[i%len(w.instants)]
	return hbRequest{path: fmt.Sprintf("/api/v1/wallets/%d/statement?from=%s&to=%s", w.id, hbTime(from), hbTime(from.Add(time.Hour))),
		header: map[string]string{"Accept": accept}}
}

// hbPlaces is how many cursors and instants a wallet's reads rotate among.
const hbPlaces = 50

// hbMeasure warms a read up, checks one answer of each wallet against the spec, then times it
// samples times per wallet, alternating.
func hbMeasure(b *testing.B, env *testkit.Env, client *http.Client, rd hbRead, wallets []*hbWallet, samples int) [][]time.Duration {
	lat := make([][]time.Duration, len(wallets))
	for k, w := range wallets {
		r := rd.request(w, 0)
		if resp := env.Do(testkit.Req{Method: "GET", Path: r.path, Token: w.token, Headers: r.header}); resp.Status != 200 {
			b.Fatalf("%s (%d entries): %d %s", rd.name, w.size, resp.Status, resp.Body)
		}
		for i := 0; i < 2*hbPlaces; i++ { // every place a read rotates among, twice: the steady state is measured
			hbGet(b, client, env.URL, w, rd.request(w, i))
		}
		lat[k] = make([]time.Duration, 0, samples)
	}
	for i := 0; i < samples; i++ {
		for k, w := range wallets {
			lat[k] = append(lat[k], hbGet(b, client, env.URL, w, rd.request(w, i)))
		}
	}
	return lat
}

// hbGet sends one read and returns how long the answer took (read in full).
func hbGet(b *testing.B, client *http.Client, base string, w *hbWallet, r hbRequest) time.Duration {
	req, _ := http.NewRequest("GET", base+r.path, nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	return testkit.Timed(b, client, req, 200)
}

func hbPercentiles(l []time.Duration) (time.Duration, time.Duration) {
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)*99/100]
}

func hbRound(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

func hbTime(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339Nano)) }

// hbWallet is a seeded wallet and what its reads need.
type hbWallet struct {
	size     int // entries
	id       int64
	token    string
	peers    []string    // the counterparties' usernames
	cursors  []string    // cursors spread over the middle of the history
	instants []time.Time // instants spread over the history
}

func (w *hbWallet) history(query string) hbRequest {
	p := fmt.Sprintf("/api/v1/wallets/%d/transactions?limit=20", w.id)
	if query != "" {
		p += "&" + query
	}
	return hbRequest{path: p}
}

// day is the filter of the day that starts at one of the wallet's instants.
func (w *hbWallet) day(i int) string {
	from := w.instants[i%len(w.instants)]
	return "from=" + hbTime(from) + "&to=" + hbTime(from.Add(24*time.Hour))
}

// Seeding -------------------------------------------------------------------------------------

// hbStep is the pace of the seeded movements.
const hbStep = 30 * time.Second

// hbSeed creates one wallet (and its ten counterparties) per size and loads their histories
// with COPY, secondary indexes dropped meanwhile and rebuilt after; then it checks the ledger.
func hbSeed(b *testing.B, env *testkit.Env, sizes []int) []*hbWallet {
	start := time.Now()
	ctx := context.Background()
	env.ExecSQL("INSERT INTO ledger_accounts (kind, currency) VALUES ('settlement', 'EUR')")
	var settlement int64
	env.Scan("SELECT id FROM ledger_accounts WHERE kind = 'settlement' AND currency = 'EUR'", nil, &settlement)
	wallets := make([]*hbWallet, len(sizes))
	plans := make([]*hbPlan, len(sizes))
	for k, n := range sizes {
		wallets[k], plans[k] = hbAccounts(b, env, n, settlement)
	}
	indexes := hbDropIndexes(b, env)
	txs := env.CopyRows("ledger_transactions", hbTxColumns, hbStream(plans, settlement, func(r hbRow) []any { return r.tx }))
	entries := env.CopyRows("ledger_entries", hbEntryColumns, hbStream(plans, settlement, func(r hbRow) []any { return r.entry }))
	loaded := time.Since(start)
	for _, def := range indexes {
		env.ExecSQL(def)
	}
	heads := hbFinal(plans, settlement)
	env.ExecSQL(`UPDATE ledger_accounts a SET balance = v.balance, pending = v.pending, version = v.version, last_hash = v.hash, history_at = v.at
		FROM (SELECT unnest($1::bigint[]) id, unnest($2::bigint[]) balance, unnest($3::bigint[]) pending, unnest($4::bigint[]) version,
		             unnest($5::bytea[]) hash, unnest($6::timestamptz[]) at) v WHERE a.id = v.id`,
		heads.ids, heads.balances, heads.pending, heads.versions, heads.hashes, heads.ats)
	env.ExecSQL("SELECT setval('ledger_transactions_id_seq', (SELECT max(id) FROM ledger_transactions))")
	if _, err := env.DB().Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("history seed: %d transactions, %d entries copied in %s, indexes rebuilt and vacuumed in %s",
		txs, entries, loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
	t0 := time.Now()
	if v, err := env.LedgerCheck(); err != nil || len(v) > 0 {
		b.Fatalf("ledger check on the seed: %v %v", err, v)
	}
	b.Logf("ledger check on the seed: clean, in %s", time.Since(t0).Round(time.Millisecond))
	for k, w := range wallets {
		hbPickPlaces(b, env, w, plans[k])
	}
	return wallets
}

// hbAccounts creates the wallet's owner (with a token) and ten counterparties, and plans its
// history: n entries ending now.
func hbAccounts(b *testing.B, env *testkit.Env, n int, settlement int64) (*hbWallet, *hbPlan) {
	rows := env.Query(`
		WITH u AS (
			INSERT INTO users (id, email, status, locale, password_hash, username)
			SELECT id, 'hist-' || id || '@example.com', 'active', 'en', 'x', 'fx' || lpad(id::text, 8, '0')
			FROM (SELECT nextval('users_id_seq') AS id FROM generate_series(1, 11)) s
			RETURNING id, username
		), w AS (
			INSERT INTO ledger_accounts (kind, user_id, currency, created_at, updated_at, history_at)
			SELECT 'user', id, 'EUR', $1, $1, $1 FROM u RETURNING id, user_id
		)
		SELECT u.id, u.username, w.id FROM u JOIN w ON w.user_id = u.id ORDER BY u.id`,
		time.Now().Add(-time.Duration(n+1000)*hbStep))
	w := &hbWallet{size: n}
	// The history ends a hundred steps before now (two pending holds come last).
	plan := &hbPlan{n: n, seed: uint64(n), start: time.Now().UTC().Add(-time.Duration(n+100) * hbStep).Truncate(time.Microsecond)}
	type made struct {
		uid, wid int64
		name     string
	}
	var all []made
	for rows.Next() {
		var m made
		if err := rows.Scan(&m.uid, &m.name, &m.wid); err != nil {
			b.Fatal(err)
		}
		all = append(all, m)
	}
	rows.Close()
	owner := all[0]
	w.id, plan.wallet = owner.wid, owner.wid
	env.ExecSQL(`INSERT INTO access_tokens (user_id, secret_hash, device_id, created_at, last_used_at, expires_at)
		VALUES ($1::bigint, sha256(convert_to(rpad('benchsecret' || $1::bigint::text, 40, 'x'), 'UTF8')), 'bench', now(), now(), now() + interval '1 day')`, owner.uid)
	var tid int64
	env.Scan("SELECT id FROM access_tokens WHERE user_id = $1", []any{owner.uid}, &tid)
	w.token = strconv.FormatInt(tid, 10) + "|" + ("benchsecret" + strconv.FormatInt(owner.uid, 10) + strings.Repeat("x", 40))[:40]
	for _, m := range all[1:] {
		w.peers, plan.peers = append(w.peers, m.name), append(plan.peers, m.wid)
	}
	return w, plan
}

// hbPickPlaces picks the cursors and instants the reads rotate among: 50 entries spread over the
// history (the cursors over its middle 80 %).
func hbPickPlaces(b *testing.B, env *testkit.Env, w *hbWallet, p *hbPlan) {
	rng := rand.New(rand.NewPCG(p.seed, 7))
	for i := 0; i < hbPlaces; i++ {
		v := int64(p.n/10 + rng.IntN(p.n*8/10))
		var tx int64
		var at time.Time
		env.Scan("SELECT transaction_id, created_at FROM ledger_entries WHERE account_id = $1 AND version = $2", []any{w.id, v}, &tx, &at)
		w.cursors = append(w.cursors, fmt.Sprintf("%d.%d", 2*v, tx))
		w.instants = append(w.instants, at.Add(hbStep/2))
	}
}

// hbDropIndexes drops the secondary indexes of the ledger's transactions and entries (the
// primary keys stay) and returns the statements that rebuild them.
func hbDropIndexes(b *testing.B, env *testkit.Env) []string {
	rows := env.Query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
		AND tablename IN ('ledger_transactions', 'ledger_entries') AND indexname NOT LIKE '%_pkey'`)
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			b.Fatal(err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	for _, n := range names {
		env.ExecSQL("DROP INDEX " + n)
	}
	return defs
}

// The columns the seed copies.
var (
	hbTxColumns = []string{"id", "kind", "status", "currency", "amount", "from_account_id", "to_account_id", "failure_code",
		"initiator_type", "initiator_id", "created_at", "finalized_at", "expires_at", "from_pos", "to_pos"}
	hbEntryColumns = []string{"transaction_id", "account_id", "amount", "balance_after", "version", "prev_hash", "hash", "created_at"}
)

// hbRow is what the plan yields: a transaction row, or an entry row.
type hbRow struct{ tx, entry []any }

// hbStream runs the plans (in order: the settlement account's versions run across them) on a
// goroutine and hands the rows pick keeps to COPY one by one.
func hbStream(plans []*hbPlan, settlement int64, pick func(hbRow) []any) func() ([]any, error) {
	ch := make(chan []any, 4096)
	go func() {
		defer close(ch)
		st := hbState{accts: map[int64]*hbAcct{}, settlement: settlement}
		for _, p := range plans {
			p.run(&st, func(r hbRow) {
				if row := pick(r); row != nil {
					ch <- row
				}
			})
		}
	}()
	return func() ([]any, error) { return <-ch, nil }
}

// hbHeads is the final head of every seeded account.
type hbHeads struct {
	ids, balances, pending, versions []int64
	hashes                           [][]byte
	ats                              []time.Time
}

// hbFinal replays the plans once more to read every account's final head.
func hbFinal(plans []*hbPlan, settlement int64) hbHeads {
	st := hbState{accts: map[int64]*hbAcct{}, settlement: settlement}
	for _, p := range plans {
		p.run(&st, func(hbRow) {})
	}
	var h hbHeads
	for id, a := range st.accts {
		h.ids, h.balances, h.pending, h.versions = append(h.ids, id), append(h.balances, a.balance), append(h.pending, a.pending), append(h.versions, a.version)
		h.hashes, h.ats = append(h.hashes, a.hash), append(h.ats, a.at)
	}
	return h
}

// hbAcct is an account's head as the plan moves it.
type hbAcct struct {
	balance, pending, version int64
	hash                      []byte
	at                        time.Time
}

// hbState is the seeded ledger as the plans build it: account heads and the next transaction id.
type hbState struct {
	accts      map[int64]*hbAcct
	settlement int64
	nextTx     int64
}

func (st *hbState) acct(id int64) *hbAcct {
	a := st.accts[id]
	if a == nil {
		a = &hbAcct{hash: ledger.GenesisHash()}
		st.accts[id] = a
	}
	return a
}

// hbPlan is one wallet's history: n entries, one movement every hbStep up to now, drawn from a
// fixed seed (so that every replay yields the same rows).
type hbPlan struct {
	n      int
	seed   uint64
	start  time.Time
	wallet int64
	peers  []int64
}

// run yields the plan's rows: the counterparties funded, then movements until the wallet has n
// entries (10 % deposits, 35 % transfers in, 35 % out, 8 % settled withdrawals, 5 % refused
// transfers, 4 % voided holds, the rest transfers in), then two holds left pending.
func (p *hbPlan) run(st *hbState, emit func(hbRow)) {
	rng := rand.New(rand.NewPCG(p.seed, 19))
	t := p.start
	for _, peer := range p.peers {
		st.posted(emit, "deposit", st.settlement, peer, 1_000_000_000_000, t, t)
	}
	w := st.acct(p.wallet)
	for w.version < int64(p.n) {
		t = t.Add(hbStep)
		amount := int64(1 + rng.IntN(10_000))
		peer := p.peers[rng.IntN(len(p.peers))]
		switch r := rng.IntN(100); {
		case r < 10 || (r >= 45 && r < 88 && w.balance < amount):
			st.posted(emit, "deposit", st.settlement, p.wallet, amount, t, t)
		case r < 45 || r >= 97:
			st.posted(emit, "transfer", peer, p.wallet, amount, t, t)
		case r < 80:
			st.posted(emit, "transfer", p.wallet, peer, amount, t, t)
		case r < 88:
			st.posted(emit, "withdrawal", p.wallet, st.settlement, amount, t.Add(-10*time.Minute), t)
		case r < 93:
			st.unposted(emit, "transfer", "failed", p.wallet, 0, 1_000_000_000, t, &t)
		default:
			done := t.Add(time.Minute)
			st.unposted(emit, "withdrawal", "voided", p.wallet, st.settlement, amount, t, &done)
		}
	}
	for i := 0; i < 2; i++ {
		t = t.Add(hbStep)
		st.unposted(emit, "withdrawal", "pending", p.wallet, st.settlement, min(w.balance-w.pending, 500), t, nil)
		w.pending += min(w.balance-w.pending, 500)
	}
}

// posted yields a posted transaction from → to and its two entries (created: when the
// transaction was created, a hold's placement; at: when it posted).
func (st *hbState) posted(emit func(hbRow), kind string, from, to, amount int64, created, at time.Time) {
	st.nextTx++
	id := st.nextTx
	fa, ta := st.entry(emit, from, id, -amount, at), st.entry(emit, to, id, amount, at)
	emit(hbRow{tx: []any{id, kind, "posted", "EUR", amount, from, to, nil, "internal_key", "bench", created, at, nil, 2 * fa, 2 * ta}})
}

// entry yields one entry on account id and returns its version.
func (st *hbState) entry(emit func(hbRow), id, tx, amount int64, at time.Time) int64 {
	a := st.acct(id)
	a.version++
	a.balance += amount
	h := ledger.EntryHash(a.hash, id, a.version, tx, amount, a.balance, at)
	emit(hbRow{entry: []any{tx, id, amount, a.balance, a.version, a.hash, h, at}})
	a.hash, a.at = h, at
	return a.version
}

// unposted yields a transaction that moved nothing (refused, a voided or pending hold): at the
// odd place after the wallet's last entry.
func (st *hbState) unposted(emit func(hbRow), kind, status string, from, to, amount int64, created time.Time, done *time.Time) {
	st.nextTx++
	a := st.acct(from)
	var code, dest, expires any
	if status == "failed" {
		code = "INSUFFICIENT_FUNDS"
	}
	if to != 0 {
		dest = to
	}
	if kind == "withdrawal" {
		expires = created.Add(ledger.DefaultHoldExpiry)
	}
	var fin any
	if done != nil {
		fin = *done
	}
	emit(hbRow{tx: []any{st.nextTx, kind, status, "EUR", amount, from, dest, code, "internal_key", "bench", created, fin, expires, 2*a.version + 1, nil}})
	a.at = created
}
