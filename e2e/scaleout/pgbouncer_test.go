package scaleout_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

// The server through Debian's PgBouncer 1.18 in transaction pooling mode, in the documented
// mode (default_query_exec_mode=cache_describe in DATABASE_URL; PgBouncer ignoring the posting
// pool's session settings), under the ledger benchmark's spread scenario — funded transfers
// between random pairs of wallets from many clients at once — with the posting engine's advisory
// locks (transaction-scoped) and batches sharing four server connections: every transfer
// succeeds, the balances are exact and the ledger invariants hold.
func TestSpreadTransfersThroughPgBouncerTransactionPooling(t *testing.T) {
	pooled := testkit.StartPgBouncer(t, testkit.DatabaseURL(t))
	env := testkit.New(t, func(c *config.Config) { c.DatabaseURL = pooled })
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	const wallets, clients, each, funds = 12, 8, 25, 100_000
	users, ws := m.FundedUsers(wallets, funds, "EUR")
	net := make([]int64, wallets)
	var mu sync.Mutex
	failed := map[string]int{}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for i := 0; i < each; i++ {
				a, b := r.IntN(wallets), r.IntN(wallets-1)
				if b >= a {
					b++
				}
				amount := int64(1 + r.IntN(50))
				res := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: users[a].Token,
					Headers: map[string]string{"Idempotency-Key": fmt.Sprintf("spread-%d-%d", c, i)},
					JSON:    map[string]any{"from_wallet_id": ws[a], "to_username": users[b].Username, "amount": amount, "currency": "EUR"}})
				mu.Lock()
				if res.Status == 201 {
					net[a] -= amount
					net[b] += amount
				} else {
					failed[fmt.Sprintf("%d %s", res.Status, res.Code())]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("through PgBouncer: failed transfers %v", failed)
	}
	for i, w := range ws {
		if b := env.Balance(w); b != funds+net[i] {
			t.Errorf("wallet %d: %d, want %d", w, b, funds+net[i])
		}
	}
	env.Invariants()
}

// Background jobs through the same PgBouncer: River's queues keep working in transaction pooling
// (new jobs are found by polling; PgBouncer does not pass on LISTEN notifications), so an
// e-mail committed through it is delivered, once.
func TestJobsThroughPgBouncerTransactionPooling(t *testing.T) {
	pooled := testkit.StartPgBouncer(t, testkit.DatabaseURL(t))
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, mb.Use, func(c *config.Config) { c.DatabaseURL = pooled })
	email := fmt.Sprintf("pooled-%d@example.com", rand.Int64())
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}}); r.Status != 200 {
		t.Fatalf("send code: %d %s", r.Status, r.Body)
	}
	if m := mb.Next(email); m.OTP() == "" {
		t.Fatalf("no code in %q", m.Text)
	}
	for deadline := time.Now().Add(10 * time.Second); env.Count("SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND status = 'sent'", email) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("outbox row not marked sent")
		}
	}
	if n := len(mb.To(email)); n != 1 {
		t.Fatalf("%d messages", n)
	}
}
