package scaleout_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

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
	users, ws := make([]testkit.User, wallets), make([]int64, wallets)
	for i := range users {
		users[i] = env.CreateUser()
		ws[i] = m.Wallet(users[i], "EUR")
		m.Deposit(ws[i], funds, "EUR")
	}
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
