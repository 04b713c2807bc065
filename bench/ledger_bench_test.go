package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// Ledger benchmark: pgbench's built-in TPC-B-like script and our transfer path, on the same
// PostgreSQL server, with the same client count, in one run. Tunables (environment):
// LEDGER_BENCH_CLIENTS (32: the top of the 16–32 range the issue sets; both sides get the same
// count, and the figures at 16 are in the closing note), LEDGER_BENCH_PHASE (8s),
// LEDGER_BENCH_WALLETS (10000), and the engine's LEDGER_BATCH_WORKERS / LEDGER_MAX_BATCH (server
// defaults).
func BenchmarkLedger(b *testing.B) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("pgbench is not installed")
	}
	clients := lbEnvInt("LEDGER_BENCH_CLIENTS", 32)
	phase := lbEnvDur("LEDGER_BENCH_PHASE", 8*time.Second)
	nWallets := lbEnvInt("LEDGER_BENCH_WALLETS", 10_000)
	for i := 0; i < b.N; i++ {
		lb := lbSetup(b, clients, nWallets)
		var sc string
		_ = lb.env.QueryRow("SHOW synchronous_commit").Scan(&sc)
		var fsync string
		_ = lb.env.QueryRow("SHOW fsync").Scan(&fsync)
		b.Logf("ledger bench: %d clients, %s per phase, %d wallets, synchronous_commit=%s fsync=%s", clients, phase, nWallets, sc, fsync)

		pgb := lbPgbench(b, lb.env.Cfg.DatabaseURL, clients, phase)
		results := []lbResult{pgb}
		spreadDirect := lb.scenario(b, "spread, service", phase, clients, lb.spreadOp(false))
		spreadHTTP := lb.scenario(b, "spread, HTTP", phase, clients, lb.spreadOp(true))
		hot := lb.scenario(b, "hot debit, service", phase, clients, lb.hotDebitOp(false))
		hotHTTP := lb.scenario(b, "hot debit, HTTP", phase, clients, lb.hotDebitOp(true))
		fanIn := lb.scenario(b, "fan-in credit, service", phase, clients, lb.fanInOp(false))
		fanInHTTP := lb.scenario(b, "fan-in credit, HTTP", phase, clients, lb.fanInOp(true))
		storm := lb.storm(b, phase, clients)
		results = append(results, spreadDirect, spreadHTTP, hot, hotHTTP, fanIn, fanInHTTP, storm)
		ratios := map[string]string{}
		for _, r := range results {
			switch r.name {
			case "spread, service", "spread, HTTP":
				ratios[r.name] = fmt.Sprintf("%.2f × pgbench", r.rate()/pgb.rate())
			case "hot debit, service", "fan-in credit, service":
				ratios[r.name] = fmt.Sprintf("%.2f × spread (service)", r.rate()/spreadDirect.rate())
			case "hot debit, HTTP", "fan-in credit, HTTP", "idempotency storm, HTTP":
				ratios[r.name] = fmt.Sprintf("%.2f × spread (HTTP)", r.rate()/spreadHTTP.rate())
			}
		}
		ratios["spread, HTTP"] += fmt.Sprintf(", %.2f × spread (service)", spreadHTTP.rate()/spreadDirect.rate())
		out := lbTable(results, ratios)
		b.Log(out)
		fmt.Print(out)
		b.ReportMetric(spreadDirect.rate()/pgb.rate(), "spread-service/pgbench")
		b.ReportMetric(spreadHTTP.rate()/pgb.rate(), "spread-http/pgbench")
		b.ReportMetric(spreadHTTP.rate()/spreadDirect.rate(), "spread-http/service")
		b.ReportMetric(hot.rate()/spreadDirect.rate(), "hot/spread")
		b.ReportMetric(hotHTTP.rate()/spreadHTTP.rate(), "hot-http/spread-http")
		b.ReportMetric(fanInHTTP.rate()/spreadHTTP.rate(), "fanin-http/spread-http")
	}
}

// lbTable renders results, one line each: rate, latency percentiles, errors, the machine's CPU
// busy fraction and load average over the phase, the CPU milliseconds per operation of the
// benchmark's process (server and clients; pgbench's own client is not counted) and of
// PostgreSQL, and the ratio given for the scenario.
func lbTable(results []lbResult, ratios map[string]string) string {
	var out strings.Builder
	fmt.Fprintf(&out, "\n%-30s %10s %9s %9s %8s %6s %6s %7s %7s  %s\n", "scenario", "ops/s", "p50", "p99", "errors", "cpu", "load", "app/op", "pg/op", "ratio")
	for _, r := range results {
		p50, p99 := r.percentiles()
		fmt.Fprintf(&out, "%-30s %10.0f %9s %9s %8d %5.0f%% %6.2f %7s %7s  %s\n", r.name, r.rate(), p50.Round(10*time.Microsecond),
			p99.Round(10*time.Microsecond), r.errors, 100*r.cpu.busy, r.cpu.load, perOp(r.cpu.self, r.count), perOp(r.cpu.pg, r.count), ratios[r.name])
	}
	return out.String()
}

// lbResult is what one scenario measured.
type lbResult struct {
	name      string
	count     int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
	firstErr  string
	cpu       cpuUse // the whole machine's, over the phase
}

func (r lbResult) rate() float64 { return float64(r.count) / r.elapsed.Seconds() }

func (r lbResult) percentiles() (time.Duration, time.Duration) {
	if len(r.latencies) == 0 {
		return 0, 0
	}
	l := append([]time.Duration(nil), r.latencies...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2], l[len(l)*99/100]
}

// lbBench is the seeded server: wallets with tokens, a hot wallet and a sink.
type lbBench struct {
	env     *testkit.Env
	users   []int64 // user ids
	names   []string
	tokens  []string
	wallets []int64
	hot     int64 // a wallet with a large balance that every hot-debit transfer debits
	hotUser int
	sink    string // username of the fan-in account
	client  *http.Client
	seq     atomic.Int64
	// pace waits for the webhooks benchmark's rate cap (nil elsewhere).
	pace func()
	// url is where HTTP transfers go: the in-process server, or an instance or a balancer the
	// balancer benchmark starts.
	url string
}

// lbSetup seeds n users (bulk SQL: users, tokens, empty wallets) and funds every wallet through
// the ledger itself (internal deposits, so the invariants hold).
func lbSetup(b *testing.B, clients, n int, adjust ...func(*config.Config)) *lbBench {
	env := testkit.New(b, append([]func(*config.Config){func(c *config.Config) {
		c.DatabaseURL = lbWithParam(c.DatabaseURL, "pool_max_conns", strconv.Itoa(clients*2+8))
		c.LedgerWorkers = lbEnvInt("LEDGER_BATCH_WORKERS", 0)
		c.LedgerMaxBatch = lbEnvInt("LEDGER_MAX_BATCH", 0)
	}}, adjust...)...)
	ctx := context.Background()
	pool := env.DB()
	start := time.Now()
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	rows, err := pool.Query(ctx, `
		WITH u AS (
			INSERT INTO users (id, email, status, locale, password_hash, username)
			SELECT id, 'bench-'||$1||'-'||g||'@example.com', 'active', 'en', 'x', 'fx' || lpad(id::text, 8, '0')
			FROM (SELECT nextval('users_id_seq') AS id, g FROM generate_series(1, $2::int) g) s
			RETURNING id, username
		), t AS (
			INSERT INTO access_tokens (user_id, secret_hash, device_id, created_at, last_used_at, expires_at)
			SELECT id, sha256(convert_to(rpad('benchsecret' || id::text, 40, 'x'), 'UTF8')), 'bench', now(), now(), now() + interval '1 day' FROM u
			RETURNING id, user_id
		), w AS (
			INSERT INTO ledger_accounts (kind, user_id, currency) SELECT 'user', id, 'EUR' FROM u RETURNING id, user_id
		), k AS (
			-- Senders need an approved KYC (the compliance send policy is on, as in production).
			INSERT INTO compliance_cases (user_id, kind, status, submitted_at, decided_at, created_at, updated_at)
			SELECT id, 'kyc', 'approved', now(), now(), now(), now() FROM u
		)
		SELECT u.id, u.username, t.id, w.id FROM u JOIN t ON t.user_id = u.id JOIN w ON w.user_id = u.id ORDER BY u.id`, tag, n)
	if err != nil {
		b.Fatal(err)
	}
	lb := &lbBench{env: env, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}}
	for rows.Next() {
		var uid, tid, wid int64
		var name string
		if err := rows.Scan(&uid, &name, &tid, &wid); err != nil {
			b.Fatal(err)
		}
		lb.users, lb.names, lb.wallets = append(lb.users, uid), append(lb.names, name), append(lb.wallets, wid)
		secret := ("benchsecret" + strconv.FormatInt(uid, 10) + strings.Repeat("x", 40))[:40]
		lb.tokens = append(lb.tokens, strconv.FormatInt(tid, 10)+"|"+secret)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	lb.hotUser = 0
	lb.hot = lb.wallets[0]
	lb.sink = lb.names[len(lb.names)-1]
	// Fund every wallet through the engine (concurrently: they all credit from one settlement
	// account, itself a hot account).
	lb.parallel(clients, len(lb.wallets), func(i int) error {
		amount := int64(1_000_000)
		if i == 0 {
			amount = 1 << 40
		}
		return lb.deposit(lb.wallets[i], amount)
	})
	b.Logf("seeded %d wallets in %s", n, time.Since(start).Round(time.Millisecond))
	lb.invariants(b)
	// Like pgbench -i, leave the freshly loaded tables vacuumed and analyzed, so that autovacuum
	// does not wake up in the middle of a measured phase.
	lb.vacuum(b)
	return lb
}

func (lb *lbBench) internalCtx() context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "bench", InternalKey: &reqctx.InternalKey{ID: 1, Name: "bench", Scopes: []string{ledger.ScopeDeposit}}})
}

func (lb *lbBench) deposit(wallet, amount int64) error {
	r, err := lb.env.Ledger().CreateDeposit(lb.internalCtx(), api.CreateDepositRequestObject{
		Params: api.CreateDepositParams{IdempotencyKey: "seed-" + strconv.FormatInt(wallet, 10)},
		Body:   &api.DepositRequest{WalletId: wallet, Amount: amount, Currency: "EUR", ExternalReference: "bench-seed-" + strconv.FormatInt(wallet, 10)}})
	if err != nil {
		return err
	}
	if _, ok := r.(api.CreateDeposit201JSONResponse); !ok {
		return fmt.Errorf("deposit: %T", r)
	}
	return nil
}

// transfer sends one transfer, directly through the service or over HTTP; ok is a 201.
func (lb *lbBench) transfer(viaHTTP bool, from int, to string, key string) (bool, error) {
	if !viaHTTP {
		ctx := reqctx.With(context.Background(), &reqctx.Info{RequestID: key, Principal: &reqctx.Principal{UserID: lb.users[from], Locale: "en"}})
		r, err := lb.env.Ledger().CreateTransfer(ctx, api.CreateTransferRequestObject{
			Params: api.CreateTransferParams{IdempotencyKey: key},
			Body:   &api.TransferRequest{FromWalletId: lb.wallets[from], ToUsername: &to, Amount: 1, Currency: "EUR"}})
		if err != nil {
			return false, err
		}
		if _, ok := r.(api.CreateTransfer201JSONResponse); !ok {
			return false, fmt.Errorf("%T %+v", r, r)
		}
		return true, nil
	}
	body, _ := json.Marshal(map[string]any{"from_wallet_id": lb.wallets[from], "to_username": to, "amount": 1, "currency": "EUR"})
	base := lb.url
	if base == "" {
		base = lb.env.URL
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/transfers", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+lb.tokens[from])
	req.Header.Set("Idempotency-Key", key)
	res, err := lb.client.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 201 && res.StatusCode != 409 {
		return false, fmt.Errorf("status %d", res.StatusCode)
	}
	return res.StatusCode == 201, nil
}

func (lb *lbBench) key() string {
	return "b" + strconv.FormatInt(lb.seq.Add(1), 36) + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// pick returns two distinct wallet indexes other than the hot one.
func (lb *lbBench) pick(r *rand.Rand) (int, int) {
	n := len(lb.wallets) - 2
	a := 1 + r.IntN(n)
	c := 1 + r.IntN(n-1)
	if c >= a {
		c++
	}
	return a, c
}

func (lb *lbBench) spreadOp(viaHTTP bool) func(r *rand.Rand) (bool, error) {
	return func(r *rand.Rand) (bool, error) {
		a, c := lb.pick(r)
		return lb.transfer(viaHTTP, a, lb.names[c], lb.key())
	}
}

func (lb *lbBench) hotDebitOp(viaHTTP bool) func(r *rand.Rand) (bool, error) {
	return func(r *rand.Rand) (bool, error) {
		_, c := lb.pick(r)
		return lb.transfer(viaHTTP, lb.hotUser, lb.names[c], lb.key())
	}
}

func (lb *lbBench) fanInOp(viaHTTP bool) func(r *rand.Rand) (bool, error) {
	return func(r *rand.Rand) (bool, error) {
		a, _ := lb.pick(r)
		return lb.transfer(viaHTTP, a, lb.sink, lb.key())
	}
}

// scenario runs op from `clients` goroutines for d, then checks the invariants. A refusal
// (409) counts as an error: every transfer of these scenarios is funded.
func (lb *lbBench) scenario(b *testing.B, name string, d time.Duration, clients int, op func(*rand.Rand) (bool, error)) lbResult {
	lb.vacuum(b)
	stop := profilePhase(b, name)
	res := lb.measure(d, clients, op)
	stop()
	res.name = name
	if res.errors > 0 {
		b.Fatalf("%s: %d errors (%d ok), first: %s; a throughput figure is only worth something when every transfer succeeded",
			name, res.errors, res.count, res.firstErr)
	}
	lb.invariants(b)
	return res
}

func (lb *lbBench) measure(d time.Duration, clients int, op func(*rand.Rand) (bool, error)) lbResult {
	var mu sync.Mutex
	res := lbResult{}
	var wg sync.WaitGroup
	cpu := startCPU()
	start := time.Now()
	stop := start.Add(d)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
			var lat []time.Duration
			var n, errs int64
			for time.Now().Before(stop) {
				t0 := time.Now()
				ok, err := op(r)
				if err == nil && !ok {
					err = fmt.Errorf("refused")
				}
				if err != nil {
					errs++
					mu.Lock()
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				lat = append(lat, time.Since(t0))
				n++
			}
			mu.Lock()
			res.count += n
			res.errors += errs
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}(uint64(c))
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = cpu.stop()
	return res
}

// storm: over HTTP, 10 % of the transfers are sent twice at the same time with the same key.
// Each key must produce exactly one transaction; the second answer is a replay or a 409.
func (lb *lbBench) storm(b *testing.B, d time.Duration, clients int) lbResult {
	lb.vacuum(b)
	var keysMu sync.Mutex
	keys := map[string]bool{}
	res := lb.measure(d, clients, func(r *rand.Rand) (bool, error) {
		a, c := lb.pick(r)
		k := "storm-" + lb.key()
		keysMu.Lock()
		keys[k] = true
		keysMu.Unlock()
		if r.IntN(10) != 0 {
			return lb.transfer(true, a, lb.names[c], k)
		}
		var wg sync.WaitGroup
		var ok1, ok2 bool
		var err1, err2 error
		wg.Add(2)
		go func() { defer wg.Done(); ok1, err1 = lb.transfer(true, a, lb.names[c], k) }()
		go func() { defer wg.Done(); ok2, err2 = lb.transfer(true, a, lb.names[c], k) }()
		wg.Wait()
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("storm: %v %v", err1, err2)
		}
		return ok1 || ok2, nil
	})
	res.name = "idempotency storm, HTTP"
	if res.errors > 0 {
		b.Fatalf("idempotency storm: %d errors (%d ok), first: %s", res.errors, res.count, res.firstErr)
	}
	var dup int
	if err := lb.env.QueryRow("SELECT count(*) FROM (SELECT idempotency_key FROM ledger_transactions WHERE idempotency_key LIKE 'storm-%' GROUP BY 1 HAVING count(*) > 1) d").Scan(&dup); err != nil {
		b.Fatal(err)
	}
	var n int
	_ = lb.env.QueryRow("SELECT count(*) FROM ledger_transactions WHERE idempotency_key LIKE 'storm-%'").Scan(&n)
	if dup != 0 || n != len(keys) {
		b.Fatalf("idempotency storm: %d keys sent, %d transactions, %d duplicated keys", len(keys), n, dup)
	}
	b.Logf("idempotency storm: %d keys, %d transactions, 0 duplicates", len(keys), n)
	lb.invariants(b)
	return res
}

// vacuum makes a phase start from vacuumed tables, as the first does: otherwise the autovacuum
// of what the phase before inserted runs in this one and counts against it (the phase after
// spread via the service paid for it: 40 % more PostgreSQL CPU per transfer, and the storm after
// fan-in 50 %).
func (lb *lbBench) vacuum(b *testing.B) {
	if _, err := lb.env.DB().Exec(context.Background(), "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

func (lb *lbBench) invariants(b *testing.B) {
	v, err := lb.env.LedgerCheck()
	if err != nil {
		b.Fatal(err)
	}
	if len(v) > 0 {
		b.Fatalf("ledger invariants violated: %v", v)
	}
}

func (lb *lbBench) parallel(workers, n int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
}

// lbPgbench runs pgbench's built-in TPC-B-like script (scale = clients, so branches are not
// the bottleneck) in a scratch database on the same server, and reads per-transaction latencies
// from its log.
func lbPgbench(b *testing.B, dbURL string, clients int, d time.Duration) lbResult {
	ctx := context.Background()
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	name := "flowxi_pgbench_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	admin := testkit.AdminDatabaseURL()
	if _, err := exec.Command("psql", admin, "-qc", "CREATE DATABASE "+name).CombinedOutput(); err != nil {
		b.Fatalf("create pgbench database: %v", err)
	}
	defer func() { _ = exec.Command("psql", admin, "-qc", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").Run() }()
	u.Path = "/" + name
	q := u.Query()
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	conn := u.String()
	if out, err := exec.CommandContext(ctx, "pgbench", "-i", "-q", "-s", strconv.Itoa(clients), conn).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v: %s", err, out)
	}
	dir := b.TempDir()
	cpu := startCPU()
	args := []string{"-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())), "-l", "--log-prefix", filepath.Join(dir, "pgb"), conn}
	out, err := exec.CommandContext(ctx, "pgbench", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v: %s", err, out)
	}
	res := lbResult{name: "pgbench TPC-B", elapsed: d, cpu: cpu.stop()}
	res.cpu.self = 0 // the load is pgbench's process, not this one
	files, _ := filepath.Glob(filepath.Join(dir, "pgb*"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				continue
			}
			res.count++
			res.latencies = append(res.latencies, time.Duration(us)*time.Microsecond)
		}
		fh.Close()
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "tps = ") || strings.Contains(line, "number of failed") {
			b.Logf("pgbench: %s", strings.TrimSpace(line))
		}
	}
	return res
}

func lbWithParam(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

func lbEnvInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

func lbEnvDur(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(k)); err == nil && d > 0 {
		return d
	}
	return def
}
