package scaleout_test

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// transfer is one request of the drill: its key and body, and its first answer.
type transfer struct {
	key    string
	from   int
	amount int64
	sentAt time.Time
	status int
	code   string
	txID   int64
}

// drill is the shared state of the load: every request sent, and the kill instant.
type drill struct {
	mu      sync.Mutex
	sent    []*transfer
	acked   atomic.Int64
	killed  atomic.Bool
	killAt  time.Time
	promAt  time.Time // the promotion of the standby returned
	firstOK time.Time // first 201 for a request sent after the kill
	afterOK atomic.Int64
}

func (d *drill) record(tr *transfer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, tr)
	if tr.status != 201 {
		return
	}
	d.acked.Add(1)
	if d.killed.Load() && tr.sentAt.After(d.killAt) {
		if d.firstOK.IsZero() {
			d.firstOK = time.Now()
		}
		d.afterOK.Add(1)
	}
}

// A PostgreSQL primary with a synchronous standby is killed (SIGKILL) under transfer load from
// six clients onto one hot account; the standby is promoted and the server, given the
// multi-host URL, reconnects by itself. Every request is then sent again with its key and
// body: no acknowledged transfer is missing (each replays its stored outcome), none is doubled,
// the balances are exactly what the completed set implies, and `flowxi ledger check` and
// `flowxi audit verify` pass on the new primary. RTO and the failed requests are logged.
func TestPostgresFailoverLosesNoAcknowledgedTransfer(t *testing.T) {
	pair := testkit.StartPGPair(t)
	pair.Primary.CreateDatabase(t, "flowxi")
	env := testkit.New(t, func(c *config.Config) { c.DatabaseURL, c.SkipMigrations = pair.URL("flowxi"), false })
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	const clients, funds = 6, 1_000_000
	hot := env.CreateUser()
	hotWallet := m.Wallet(hot, "EUR")
	users, wallets := m.FundedUsers(clients, funds, "EUR")
	d := &drill{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() { defer wg.Done(); load(env, d, stop, i, users[i], wallets[i], hot.Username) }()
	}
	kill(t, d, pair, stop)
	wg.Wait()

	resendAll(t, env, d, users, wallets, hot.Username)
	checkBalances(t, env, d, wallets, hotWallet, funds)
	runChecks(t, env, pair)
	report(t, d)
}

// load sends transfers with fresh keys until stop; a refused one is recorded and, after a
// short pause, the client goes on with the next.
func load(env *testkit.Env, d *drill, stop chan struct{}, i int, u testkit.User, wallet int64, to string) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		tr := &transfer{key: fmt.Sprintf("drill-%d-%d", i, n), from: i, amount: int64(1 + n%97), sentAt: time.Now()}
		r := send(env, u, wallet, to, tr)
		tr.status, tr.code = r.Status, r.Code()
		if r.Status == 201 {
			tr.txID = testkit.DataOf[api.Transaction](env.T, r).Id
		}
		d.record(tr)
		if r.Status != 201 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func send(env *testkit.Env, u testkit.User, wallet int64, to string, tr *transfer) *testkit.Resp {
	return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: u.Token,
		Headers: map[string]string{"Idempotency-Key": tr.key},
		JSON:    map[string]any{"from_wallet_id": wallet, "to_username": to, "amount": tr.amount, "currency": "EUR"}})
}

// kill waits for 40 acknowledged transfers, kills the primary, promotes the standby (what an
// operator or a failover manager does), and stops the load once 30 transfers sent after the
// kill have been acknowledged.
func kill(t *testing.T, d *drill, pair *testkit.PGPair, stop chan struct{}) {
	t.Helper()
	defer close(stop)
	deadline := time.Now().Add(90 * time.Second)
	for d.acked.Load() < 40 {
		if time.Now().After(deadline) {
			t.Fatal("load did not reach 40 transfers")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.mu.Lock()
	d.killAt = time.Now()
	d.killed.Store(true)
	d.mu.Unlock()
	if err := pair.Primary.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := pair.Standby.Promote(); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.promAt = time.Now()
	d.mu.Unlock()
	for d.afterOK.Load() < 30 {
		if time.Now().After(deadline) {
			t.Fatal("no recovery: fewer than 30 transfers acknowledged after the kill")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// resendAll sends every request again with its key and body: an acknowledged one must replay
// the same transaction; one that failed is applied now (or replays, if it had committed).
func resendAll(t *testing.T, env *testkit.Env, d *drill, users []testkit.User, wallets []int64, to string) {
	t.Helper()
	for _, tr := range d.sent {
		r := send(env, users[tr.from], wallets[tr.from], to, tr)
		if r.Status != 201 {
			t.Fatalf("re-send %s: %d %s", tr.key, r.Status, r.Body)
		}
		id := testkit.DataOf[api.Transaction](t, r).Id
		if tr.status == 201 && (id != tr.txID || r.Header.Get("Idempotent-Replayed") != "true") {
			t.Errorf("acknowledged transfer %s (tx %d) missing: the re-send applied it again as tx %d", tr.key, tr.txID, id)
		}
	}
}

// checkBalances: one posted transfer per key, and balances exactly what they imply.
func checkBalances(t *testing.T, env *testkit.Env, d *drill, wallets []int64, hotWallet int64, funds int64) {
	t.Helper()
	var keys, posted int64
	env.Scan(`SELECT count(DISTINCT idempotency_key), count(*) FROM ledger_transactions WHERE kind = 'transfer' AND status = 'posted'`,
		nil, &keys, &posted)
	if posted != int64(len(d.sent)) || keys != posted {
		t.Errorf("%d requests, %d posted transfers under %d keys: want one each", len(d.sent), posted, keys)
	}
	spent := make([]int64, len(wallets))
	var total int64
	for _, tr := range d.sent {
		spent[tr.from] += tr.amount
		total += tr.amount
	}
	for i, w := range wallets {
		if b := env.Balance(w); b != funds-spent[i] {
			t.Errorf("wallet %d: balance %d, want %d", w, b, funds-spent[i])
		}
	}
	if b := env.Balance(hotWallet); b != total {
		t.Errorf("hot wallet: balance %d, want %d", b, total)
	}
}

// runChecks runs `flowxi ledger check` and `flowxi audit verify` on the new primary.
func runChecks(t *testing.T, env *testkit.Env, pair *testkit.PGPair) {
	t.Helper()
	if _, err := env.SealAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := env.Cfg
	cfg.DatabaseURL = pair.Standby.URL("flowxi")
	for _, args := range [][]string{{"ledger", "check"}, {"audit", "verify"}} {
		cmd := exec.Command(testkit.Binary(t), args...)
		cmd.Env = append(testkit.ProcessEnv(cfg), "AUDIT_STALE_AFTER=1h")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("flowxi %s on the new primary: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// report logs the RTO (kill → first transfer sent after it acknowledged) and the failed
// requests by answer.
func report(t *testing.T, d *drill) {
	failed := map[string]int{}
	for _, tr := range d.sent {
		if tr.status != 201 {
			failed[fmt.Sprintf("%d %s", tr.status, tr.code)]++
		}
	}
	var lines []string
	for k, n := range failed {
		lines = append(lines, fmt.Sprintf("%d × %s", n, k))
	}
	sort.Strings(lines)
	t.Logf("PostgreSQL failover: %d requests, %d acknowledged before the re-send; promoted %v after the kill; RTO (kill → first transfer sent after it acknowledged) %v; failed: %s",
		len(d.sent), d.acked.Load(), d.promAt.Sub(d.killAt).Round(time.Millisecond), d.firstOK.Sub(d.killAt).Round(time.Millisecond), strings.Join(lines, ", "))
	for k := range failed {
		if !strings.HasPrefix(k, "503 SERVICE_UNAVAILABLE") {
			t.Errorf("a request failed with %s: the documented answer is 503 SERVICE_UNAVAILABLE", k)
		}
	}
}
