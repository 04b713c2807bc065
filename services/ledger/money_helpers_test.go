package ledger_test

import (
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// Helpers of the limit, reference, overflow and expiry tests.

// internal sends a request to the internal API with the fixture's key (key == "": no
// Idempotency-Key).
func (f *fixture) internal(method, path, key string, body any) *testkit.Resp {
	f.T.Helper()
	return f.internalAs(f.Key, method, path, key, body)
}

// internalAs is internal with another internal key.
func (f *fixture) internalAs(ikey, method, path, key string, body any) *testkit.Resp {
	f.T.Helper()
	h := map[string]string{"X-Internal-Key": ikey}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return f.Do(testkit.Req{Method: method, Path: path, Headers: h, JSON: body})
}

// newFixtureWith is newFixture on a configuration adjusted by adjust.
func newFixtureWith(t testing.TB, adjust func(*config.Config)) *fixture {
	return &fixture{Money: testkit.NewMoney(testkit.New(t, adjust), testkit.LedgerScopes...)}
}

// secondKey creates another internal key with every ledger scope, as during a key rotation.
func (f *fixture) secondKey() string {
	f.T.Helper()
	return f.CreateInternalKey("test-"+randKey()[:8], testkit.LedgerScopes...)
}

// depositReq posts a deposit with the given key and reference and returns the answer as is.
func (f *fixture) depositReq(key string, wallet, amount int64, currency, ref string) *testkit.Resp {
	f.T.Helper()
	return f.internal("POST", "/api/v1/internal/deposits", key,
		map[string]any{"wallet_id": wallet, "amount": amount, "currency": currency, "external_reference": ref})
}

// holdReq places a hold (extra fields such as expires_in are added to the body).
func (f *fixture) holdReq(key string, wallet, amount int64, currency, ref string, extra ...map[string]any) *testkit.Resp {
	f.T.Helper()
	b := map[string]any{"wallet_id": wallet, "amount": amount, "currency": currency, "external_reference": ref}
	for _, e := range extra {
		for k, v := range e {
			b[k] = v
		}
	}
	return f.internal("POST", "/api/v1/internal/holds", key, b)
}

// finishReq settles or voids a hold ("settle" / "void") with a fresh key.
func (f *fixture) finishReq(holdID int64, action string) *testkit.Resp {
	f.T.Helper()
	return f.internal("POST", "/api/v1/internal/holds/"+itoa(holdID)+"/"+action, randKey(), nil)
}

// funded creates a user with a wallet in currency credited with amount.
func (f *fixture) funded(currency string, amount int64) (testkit.User, int64) {
	f.T.Helper()
	u := f.CreateUser()
	w := f.Wallet(u, currency)
	f.Deposit(w, amount, currency)
	return u, w
}

// setStatus freezes or unfreezes a wallet.
func (f *fixture) setStatus(wallet int64, status string) {
	f.T.Helper()
	if r := f.internal("PUT", "/api/v1/internal/wallets/"+itoa(wallet)+"/status", "", map[string]any{"status": status}); r.Status != 200 {
		f.T.Fatalf("wallet status %s: %d %s", status, r.Status, r.Body)
	}
}

// walletView is the caller's view of one of their wallets (GET /wallets).
func (f *fixture) walletView(u testkit.User, id int64) api.Wallet {
	f.T.Helper()
	r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets", Token: u.Token})
	for _, w := range testkit.DataOf[[]api.Wallet](f.T, r) {
		if w.Id == id {
			return w
		}
	}
	f.T.Fatalf("wallet %d not in %s", id, r.Body)
	return api.Wallet{}
}

// settlementBalance reads the settlement account of a currency.
func (f *fixture) settlementBalance(currency string) int64 {
	f.T.Helper()
	var b int64
	if err := f.QueryRow("SELECT balance FROM ledger_accounts WHERE kind = 'settlement' AND currency = $1", currency).Scan(&b); err != nil {
		f.T.Fatal(err)
	}
	return b
}

// inParallel runs job(0..n-1) on at most width goroutines and waits for all of them.
func inParallel(n, width int, job func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				job(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// apiTime parses a timestamp of the API (nil, an absent or null field, fails the test).
func apiTime(f *fixture, v *string) time.Time {
	f.T.Helper()
	if v == nil {
		f.T.Fatalf("timestamp absent or null")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		f.T.Fatalf("timestamp %v: %v", *v, err)
	}
	return t
}
