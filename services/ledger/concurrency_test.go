package ledger_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/flowxi/backend/testkit"
)

// 20 concurrent requests with one key: one movement; every other answer is its replay or 409.
func TestConcurrentSameKey(t *testing.T) {
	f := newFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser()
	wa, wb := f.Wallet(ada, "EUR"), f.Wallet(bob, "EUR")
	f.Deposit(wa, 10_000, "EUR")
	key := randKey()
	var wg sync.WaitGroup
	res := make([]*testkit.Resp, 20)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = f.transfer(ada, key, body(wa, bob.Username, 700, "EUR"))
		}(i)
	}
	wg.Wait()
	created, ids := 0, map[int64]bool{}
	for _, r := range res {
		switch {
		case r.Status == 201:
			created++
			ids[f.tx(r).Id] = true
		case r.Status == 409 && r.Code() == "IDEMPOTENCY_IN_PROGRESS":
		default:
			t.Fatalf("unexpected %d %s", r.Status, r.Body)
		}
	}
	if created == 0 || len(ids) != 1 {
		t.Fatalf("%d created answers for %d transactions", created, len(ids))
	}
	if f.Balance(wa) != 9_300 || f.Balance(wb) != 700 || f.Count("SELECT count(*) FROM ledger_transactions WHERE kind = 'transfer' AND from_account_id = $1", wa) != 1 {
		t.Fatalf("more than one movement: %d %d", f.Balance(wa), f.Balance(wb))
	}
	f.invariants()
}

// 200 concurrent transfers: a ring of 10 users, each also paying one hot account. Every
// transfer is funded, so every one must complete; balances are then exactly predictable.
func TestRingAndHotAccount(t *testing.T) {
	f := newFixture(t)
	const n, rounds = 10, 10
	users, wallets := f.FundedUsers(n, 100_000, "XOF")
	hot := f.CreateUser()
	hw := f.Wallet(hot, "XOF")
	var wg sync.WaitGroup
	errs := make(chan string, 2*n*rounds)
	for r := 0; r < rounds; r++ {
		for i := 0; i < n; i++ {
			wg.Add(2)
			go func(i, r int) {
				defer wg.Done()
				resp := f.transfer(users[i], fmt.Sprintf("ring-%d-%d", i, r), body(wallets[i], users[(i+1)%n].Username, int64(100+i), "XOF"))
				if resp.Status != 201 {
					errs <- fmt.Sprintf("ring %d/%d: %d %s", i, r, resp.Status, resp.Body)
				}
			}(i, r)
			go func(i, r int) {
				defer wg.Done()
				resp := f.transfer(users[i], fmt.Sprintf("hot-%d-%d", i, r), body(wallets[i], hot.Username, 7, "XOF"))
				if resp.Status != 201 {
					errs <- fmt.Sprintf("hot %d/%d: %d %s", i, r, resp.Status, resp.Body)
				}
			}(i, r)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i := range users {
		prev := (i + n - 1) % n
		want := int64(100_000) - rounds*int64(100+i) + rounds*int64(100+prev) - rounds*7
		if got := f.Balance(wallets[i]); got != want {
			t.Errorf("user %d: balance %d, want %d", i, got, want)
		}
	}
	if got := f.Balance(hw); got != n*rounds*7 {
		t.Errorf("hot account: %d, want %d", got, n*rounds*7)
	}
	f.invariants()
}
