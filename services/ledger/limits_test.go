package ledger_test

import (
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// The limits of these tests, in EUR cents ("personal:daily=100,monthly=150" in major units).
const (
	dailyLimit   = 10_000
	monthlyLimit = 15_000
	step         = 300 // one concurrent movement: 33 of them fit in a day (9 900), the 34th does not
)

func newLimitsFixture(t *testing.T) *fixture {
	f := newFixtureWith(t, func(c *config.Config) { c.LedgerSpendingLimits = "personal:daily=100,monthly=150" })
	// The expected resets_at values assume the test stays within one clock hour and one
	// calendar month (25 h later included): move the clock away from both edges.
	now := f.Clock.Now()
	if now.Minute() >= 50 {
		f.Clock.Advance(now.Truncate(time.Hour).Add(time.Hour + time.Minute).Sub(now))
	}
	if now = f.Clock.Now(); !monthStart(now.Add(72 * time.Hour)).Equal(monthStart(now)) {
		f.Clock.Advance(monthStart(now).AddDate(0, 1, 1).Add(time.Minute).Sub(now))
	}
	return f
}

func monthStart(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// limits reads GET /wallets/{id}/limits as the wallet's owner.
func (f *fixture) limits(u testkit.User, wallet int64) (daily, monthly api.SpendingWindow) {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wallet) + "/limits", Token: u.Token})
	if r.Status != 200 || r.Code() != "LIMITS_OK" {
		f.T.Fatalf("limits: %d %s", r.Status, r.Body)
	}
	l := testkit.DataOf[api.WalletLimits](f.T, r)
	if l.Tier != "personal" || !l.Verified {
		f.T.Fatalf("limits: %d %s", r.Status, r.Body)
	}
	return l.Daily, l.Monthly
}

// window checks one window of the limits view.
func (f *fixture) window(w api.SpendingWindow, limit, used int64, resets *time.Time) {
	f.T.Helper()
	if w.Limit != limit || w.Used != used || w.Remaining != max(0, limit-used) {
		f.T.Fatalf("window %+v: want limit %d, used %d", w, limit, used)
	}
	if resets == nil && w.ResetsAt != nil || resets != nil && !apiTime(f, w.ResetsAt).Equal(*resets) {
		f.T.Fatalf("window %+v: want resets_at %v", w, resets)
	}
}

// refusedByLimit checks a LIMIT_EXCEEDED refusal and its figures; it must be recorded as failed.
func (f *fixture) refusedByLimit(r *testkit.Resp, window string, limit, used int64, resets time.Time) {
	f.T.Helper()
	if r.Status != 409 || r.Code() != "LIMIT_EXCEEDED" {
		f.T.Fatalf("want LIMIT_EXCEEDED (%s, limit %d, used %d, resets %v): %d %s", window, limit, used, resets, r.Status, r.Body)
	}
	d := f.tx(r)
	if d.Status != "failed" || !testkit.Is(d.FailureCode, "LIMIT_EXCEEDED") || !testkit.Is(d.LimitWindow, api.TransactionLimitWindow(window)) ||
		!testkit.Is(d.Limit, limit) || !testkit.Is(d.Used, used) || !testkit.Is(d.Remaining, max(0, limit-used)) ||
		!apiTime(f, d.ResetsAt).Equal(resets) {
		f.T.Fatalf("want LIMIT_EXCEEDED (%s, limit %d, used %d, resets %v): %d %s", window, limit, used, resets, r.Status, r.Body)
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE id = $1 AND status = 'failed' AND failure_code = 'LIMIT_EXCEEDED'", d.Id); n != 1 {
		f.T.Fatalf("refusal %v not recorded as failed", d.Id)
	}
}

// acceptedOrLimited counts the 201 answers of a concurrent run that filled the day (33 movements
// of step); every other answer must be the day's refusal.
func (f *fixture) acceptedOrLimited(res []*testkit.Resp, dayResets time.Time) int {
	f.T.Helper()
	accepted := 0
	for _, r := range res {
		if r.Status == 201 {
			accepted++
			continue
		}
		f.refusedByLimit(r, "day", dailyLimit, 33*step, dayResets)
	}
	return accepted
}

// 50 concurrent transfers of 300 against a daily limit of 10 000: exactly 33 pass (never more
// than the limit), the 17 others are refused with the window's figures.
func TestDailyLimitUnderConcurrentTransfers(t *testing.T) {
	f := newLimitsFixture(t)
	ada, wa := f.funded("EUR", 100_000)
	bob := f.CreateUser()
	wb := f.Wallet(bob, "EUR")
	start := f.Clock.Now()
	dayResets := start.Truncate(time.Hour).Add(24 * time.Hour)
	res := make([]*testkit.Resp, 50)
	inParallel(len(res), len(res), func(i int) { res[i] = f.transfer(ada, randKey(), body(wa, bob.Username, step, "EUR")) })
	accepted := f.acceptedOrLimited(res, dayResets)
	if accepted != 33 || f.Balance(wb) != 33*step || f.Balance(wa) != 100_000-33*step {
		t.Fatalf("%d accepted; balances %d → %d", accepted, f.Balance(wa), f.Balance(wb))
	}
	daily, monthly := f.limits(ada, wa)
	f.window(daily, dailyLimit, 33*step, &dayResets)
	nextMonth := monthStart(start).AddDate(0, 1, 0)
	f.window(monthly, monthlyLimit, 33*step, &nextMonth)

	// 25 hours later the day is free again, the month is not: 5 000 pass (day 5 000, month
	// 14 900), then 300 more pass the day but not the month.
	f.Clock.Advance(25 * time.Hour)
	later := f.Clock.Now()
	if r := f.transfer(ada, randKey(), body(wa, bob.Username, 5_000, "EUR")); r.Status != 201 {
		t.Fatalf("transfer the next day: %d %s", r.Status, r.Body)
	}
	f.refusedByLimit(f.transfer(ada, randKey(), body(wa, bob.Username, step, "EUR")), "month", monthlyLimit, 33*step+5_000, nextMonth)
	// A movement over what is left of the day is refused by the day first.
	f.refusedByLimit(f.transfer(ada, randKey(), body(wa, bob.Username, 5_001, "EUR")), "day", dailyLimit, 5_000, later.Truncate(time.Hour).Add(24*time.Hour))
	daily, monthly = f.limits(ada, wa)
	laterResets := later.Truncate(time.Hour).Add(24 * time.Hour)
	f.window(daily, dailyLimit, 5_000, &laterResets)
	f.window(monthly, monthlyLimit, 33*step+5_000, &nextMonth)
	// A hold is refused by the month too.
	f.refusedByLimit(f.holdReq(randKey(), wa, step, "EUR", "payout-"+randKey()), "month", monthlyLimit, 33*step+5_000, nextMonth)

	// Someone else's wallet: 404, nothing about it.
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wa) + "/limits", Token: bob.Token}); r.Status != 404 || r.Code() != "WALLET_NOT_FOUND" {
		t.Fatalf("another user's limits: %d %s", r.Status, r.Body)
	}
	f.invariants()
}

// Holds and transfers mixed, 25 of each at once: the same 33 pass; a voided hold gives its
// amount back to the window (shown by the limits and usable at once).
func TestDailyLimitUnderConcurrentHoldsAndTransfers(t *testing.T) {
	f := newLimitsFixture(t)
	carl, wc := f.funded("EUR", 100_000)
	bob := f.CreateUser()
	wb := f.Wallet(bob, "EUR")
	start := f.Clock.Now()
	dayResets := start.Truncate(time.Hour).Add(24 * time.Hour)
	res := make([]*testkit.Resp, 50)
	var mu sync.Mutex
	var holds []int64
	inParallel(len(res), len(res), func(i int) {
		if i%2 == 0 {
			res[i] = f.transfer(carl, randKey(), body(wc, bob.Username, step, "EUR"))
			return
		}
		res[i] = f.holdReq(randKey(), wc, step, "EUR", "payout-"+randKey())
		if res[i].Status == 201 {
			mu.Lock()
			holds = append(holds, f.tx(res[i]).Id)
			mu.Unlock()
		}
	})
	accepted := f.acceptedOrLimited(res, dayResets)
	transfers := int64(accepted - len(holds))
	w := f.walletView(carl, wc)
	if accepted != 33 || len(holds) < 2 || f.Balance(wb) != transfers*step || w.Pending != int64(len(holds))*step ||
		w.AvailableBalance != 100_000-33*step {
		t.Fatalf("%d accepted (%d holds): %v, recipient %d", accepted, len(holds), w, f.Balance(wb))
	}
	daily, _ := f.limits(carl, wc)
	f.window(daily, dailyLimit, 33*step, &dayResets)
	if r := f.transfer(carl, randKey(), body(wc, bob.Username, step, "EUR")); r.Code() != "LIMIT_EXCEEDED" {
		t.Fatalf("over the limit: %d %s", r.Status, r.Body)
	}

	if r := f.finishReq(holds[0], "void"); r.Status != 200 || r.Code() != "HOLD_VOIDED" {
		t.Fatalf("void: %d %s", r.Status, r.Body)
	}
	daily, monthly := f.limits(carl, wc)
	f.window(daily, dailyLimit, 32*step, &dayResets)
	nextMonth := monthStart(start).AddDate(0, 1, 0)
	f.window(monthly, monthlyLimit, 32*step, &nextMonth)
	// A settled hold keeps counting; the room the void made is usable at once.
	if r := f.finishReq(holds[len(holds)-1], "settle"); r.Status != 200 {
		t.Fatalf("settle: %d %s", r.Status, r.Body)
	}
	if r := f.transfer(carl, randKey(), body(wc, bob.Username, step, "EUR")); r.Status != 201 {
		t.Fatalf("transfer after the void: %d %s", r.Status, r.Body)
	}
	daily, _ = f.limits(carl, wc)
	f.window(daily, dailyLimit, 33*step, &dayResets)

	// A hold voided after its hour left the day window gives back to the month only.
	f.Clock.Advance(25 * time.Hour)
	if r := f.finishReq(holds[1], "void"); r.Status != 200 {
		t.Fatalf("void the next day: %d %s", r.Status, r.Body)
	}
	daily, monthly = f.limits(carl, wc)
	f.window(daily, dailyLimit, 0, nil)
	f.window(monthly, monthlyLimit, 32*step, &nextMonth)
	f.invariants()
}
