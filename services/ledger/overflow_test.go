package ledger_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

// maxAmount is the spec's Amount maximum (2^53−1): 1 024 of them fit in an int64 balance
// (1 024 × (2^53−1) = 2^63 − 1 024), the 1 025th does not.
const maxAmount = 1<<53 - 1

// newOverflowFixture offers currencies no other test of the package uses, so that these tests
// own their settlement accounts (which they take to the edge of the int64 range).
func newOverflowFixture(t *testing.T) *fixture {
	return newFixtureWith(t, func(c *config.Config) { c.LedgerCurrencies = []string{"EUR", "XOF", "USD", "CHF", "SEK", "NOK"} })
}

// fill deposits n times the maximum amount, round-robin over wallets, 16 requests at a time.
func (f *fixture) fill(wallets []int64, n int, currency string) {
	f.T.Helper()
	failed := make(chan string, n)
	inParallel(n, 16, func(i int) {
		if r := f.depositReq(randKey(), wallets[i%len(wallets)], maxAmount, currency, "FILL-"+randKey()); r.Status != 201 {
			failed <- fmt.Sprintf("deposit %d: %d %s", i, r.Status, r.Body)
		}
	})
	close(failed)
	for e := range failed {
		f.T.Fatal(e)
	}
}

// overflowRefused sends a deposit that must be refused with BALANCE_OVERFLOW: recorded as a
// failed deposit, no entry, no balance moved.
func (f *fixture) overflowRefused(wallet, amount int64, currency string) {
	f.T.Helper()
	bal, settle := f.Balance(wallet), f.settlementBalance(currency)
	entries := f.Count("SELECT count(*) FROM ledger_entries")
	r := f.depositReq(randKey(), wallet, amount, currency, "OVER-"+randKey())
	if r.Status != 409 || r.Code() != "BALANCE_OVERFLOW" || f.tx(r).Status != "failed" || !testkit.Is(f.tx(r).FailureCode, "BALANCE_OVERFLOW") {
		f.T.Fatalf("deposit of %d on %d: want 409 BALANCE_OVERFLOW, got %d %s", amount, bal, r.Status, r.Body)
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE id = $1 AND kind = 'deposit' AND status = 'failed' AND failure_code = 'BALANCE_OVERFLOW'", f.tx(r).Id); n != 1 {
		f.T.Fatalf("refusal not recorded as a failed deposit")
	}
	if f.Balance(wallet) != bal || f.settlementBalance(currency) != settle || f.Count("SELECT count(*) FROM ledger_entries") != entries {
		f.T.Fatalf("a refused deposit wrote: balance %d → %d, settlement %d → %d", bal, f.Balance(wallet), settle, f.settlementBalance(currency))
	}
}

func (f *fixture) depositOK(wallet, amount int64, currency string) {
	f.T.Helper()
	if r := f.depositReq(randKey(), wallet, amount, currency, "OK-"+randKey()); r.Status != 201 {
		f.T.Fatalf("deposit of %d: %d %s", amount, r.Status, r.Body)
	}
}

// A wallet filled to the int64 edge: the next credit (deposit or transfer in) is 409
// BALANCE_OVERFLOW, never a 500 or a wrap.
func TestWalletOverflowRefused(t *testing.T) {
	f := newOverflowFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser()
	wa, wb := f.Wallet(ada, "CHF"), f.Wallet(bob, "CHF")
	f.fill([]int64{wa}, 1024, "CHF")
	full := int64(1024 * maxAmount)
	if f.Balance(wa) != full || f.settlementBalance("CHF") != -full {
		t.Fatalf("after 1 024 deposits: wallet %d, settlement %d", f.Balance(wa), f.settlementBalance("CHF"))
	}
	f.overflowRefused(wa, maxAmount, "CHF")
	// 1 024 more overflow the wallet alone (the settlement account would reach exactly MinInt64).
	f.overflowRefused(wa, 1024, "CHF")
	f.depositOK(wa, 1023, "CHF")
	if f.Balance(wa) != math.MaxInt64 {
		t.Fatalf("wallet at %d, want MaxInt64", f.Balance(wa))
	}
	// The full wallet still reads (exactly in the JSON; a client reading numbers as doubles
	// cannot, which is why amounts stop at 2^53−1).
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets", Token: ada.Token}); r.Status != 200 || !strings.Contains(string(r.Body), `"balance":9223372036854775807`) {
		t.Fatalf("wallets: %d %s", r.Status, r.Body)
	}
	// A transfer into the full wallet: refused, recorded, the recipient not named.
	f.depositOK(wb, 1, "CHF")
	r := f.transfer(bob, randKey(), body(wb, ada.Username, 1, "CHF"))
	if r.Status != 409 || r.Code() != "BALANCE_OVERFLOW" || f.tx(r).Status != "failed" || f.tx(r).ToWalletId != nil {
		t.Fatalf("transfer into a full wallet: %d %s", r.Status, r.Body)
	}
	if f.Balance(wa) != math.MaxInt64 || f.Balance(wb) != 1 {
		t.Fatalf("a refused transfer moved: %d %d", f.Balance(wa), f.Balance(wb))
	}
	f.invariants()
}

// The settlement account goes negative by every deposit: spread over two wallets, it reaches
// the int64 edge first, and the deposit that would take it past is refused.
func TestSettlementOverflowRefused(t *testing.T) {
	f := newOverflowFixture(t)
	ada, bob := f.CreateUser(), f.CreateUser()
	wa, wb := f.Wallet(ada, "SEK"), f.Wallet(bob, "SEK")
	f.fill([]int64{wa, wb}, 1024, "SEK")
	half := int64(512 * maxAmount)
	if f.Balance(wa) != half || f.Balance(wb) != half || f.settlementBalance("SEK") != -2*half {
		t.Fatalf("after 1 024 deposits: %d %d, settlement %d", f.Balance(wa), f.Balance(wb), f.settlementBalance("SEK"))
	}
	// The wallets have room; the settlement account has 1 024 left.
	f.overflowRefused(wa, maxAmount, "SEK")
	f.overflowRefused(wb, 1025, "SEK")
	f.depositOK(wa, 1024, "SEK")
	if f.settlementBalance("SEK") != math.MinInt64 {
		t.Fatalf("settlement at %d, want MinInt64", f.settlementBalance("SEK"))
	}
	f.overflowRefused(wb, 1, "SEK")
	f.invariants()
}

// `ledger check` verifies the settlement sign convention: balance ≤ 0, nothing pending.
func TestCheckReportsSettlementSign(t *testing.T) {
	f := newOverflowFixture(t)
	ada := f.CreateUser()
	f.Deposit(f.Wallet(ada, "NOK"), 100, "NOK")
	f.invariants()
	ctx := context.Background()
	pool := f.DB()
	var id int64
	if err := pool.QueryRow(ctx, "SELECT id FROM ledger_accounts WHERE kind = 'settlement' AND currency = 'NOK'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	// The package database is shared by the package's tests: put the account back afterwards.
	t.Cleanup(func() {
		if _, err := pool.Exec(ctx, "UPDATE ledger_accounts SET balance = -100, pending = 0 WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		f.invariants()
	})
	for _, plant := range []struct{ balance, pending int64 }{{-100, 7}, {5, 0}} {
		if _, err := pool.Exec(ctx, "UPDATE ledger_accounts SET balance = $2, pending = $3 WHERE id = $1", id, plant.balance, plant.pending); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("settlement account %d (NOK): balance %d, pending %d", id, plant.balance, plant.pending)
		if v := checkViolations(t, f); !strings.Contains(v, want) {
			t.Fatalf("%q not reported: %s", want, v)
		}
	}
}
