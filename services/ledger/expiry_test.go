package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// A hold past its expiry cannot be settled; two expiry workers at once void it once, audited,
// giving its amount back to the available balance and the spending limits.
func TestHoldExpiry(t *testing.T) {
	f := newFixture(t)
	ada, wa := f.funded("EUR", 1_000)
	h := f.holdReq(randKey(), wa, 600, "EUR", "payout-"+randKey(), map[string]any{"expires_in": 60})
	if h.Status != 201 || f.tx(h).Status != "pending" {
		t.Fatalf("hold: %d %s", h.Status, h.Body)
	}
	hold := f.tx(h)
	id := hold.Id
	if exp := apiTime(f, hold.ExpiresAt); !exp.Equal(apiTime(f, &hold.CreatedAt).Add(time.Minute)) {
		t.Fatalf("expires_at %v for expires_in 60: %s", exp, h.Body)
	}
	if daily, _ := f.limits(ada, wa); daily.Used != 600 {
		t.Fatalf("the hold does not count: %v", daily)
	}

	f.Clock.Advance(61 * time.Second)
	// Before any worker ran: the hold is still pending, and settling it is refused.
	s := f.finishReq(id, "settle")
	if s.Status != 409 || s.Code() != "HOLD_EXPIRED" || f.tx(s).Status != "pending" || f.tx(s).Id != id {
		t.Fatalf("settle after expiry: %d %s", s.Status, s.Body)
	}
	if w := f.walletView(ada, wa); f.Balance(wa) != 1_000 || w.Pending != 600 {
		t.Fatalf("a refused settle moved money: %v", w)
	}

	// Two workers at once.
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, errs[i] = f.Ledger().ExpireHolds(context.Background())
		}(i)
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE action = 'ledger.hold.expired' AND subject_id = $1", itoa(id)); n != 1 {
		t.Fatalf("%d expiry audit events for one hold", n)
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE id = $1 AND status = 'voided'", id); n != 1 {
		t.Fatal("the expired hold is not voided")
	}
	if w := f.walletView(ada, wa); f.Balance(wa) != 1_000 || w.Pending != 0 || w.AvailableBalance != 1_000 {
		t.Fatalf("after expiry: %v", w)
	}
	if daily, monthly := f.limits(ada, wa); daily.Used != 0 || monthly.Used != 0 {
		t.Fatalf("the expired hold still counts: %v %v", daily, monthly)
	}
	// A third sweep finds nothing more to do for it.
	if _, err := f.Ledger().ExpireHolds(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE action = 'ledger.hold.expired' AND subject_id = $1", itoa(id)); n != 1 {
		t.Fatalf("%d expiry audit events after a third sweep", n)
	}

	if r := f.finishReq(id, "settle"); r.Status != 409 || r.Code() != "HOLD_EXPIRED" {
		t.Fatalf("settle after the worker: %d %s", r.Status, r.Body)
	}
	if r := f.finishReq(id, "void"); r.Status != 409 || r.Code() != "HOLD_NOT_PENDING" {
		t.Fatalf("void after the worker: %d %s", r.Status, r.Body)
	}
	if f.Balance(wa) != 1_000 {
		t.Fatalf("balance %d", f.Balance(wa))
	}
	f.invariants()
}

// expires_in: 7 days when absent, 60 s to 30 days, anything else a 422 naming it.
func TestHoldExpiresIn(t *testing.T) {
	f := newFixture(t)
	_, wa := f.funded("EUR", 1_000)
	h := f.holdReq(randKey(), wa, 10, "EUR", "payout-"+randKey())
	if h.Status != 201 {
		t.Fatalf("hold: %d %s", h.Status, h.Body)
	}
	if hold := f.tx(h); !apiTime(f, hold.ExpiresAt).Equal(apiTime(f, &hold.CreatedAt).Add(7 * 24 * time.Hour)) {
		t.Fatalf("default expiry: %s", h.Body)
	}
	for _, in := range []int64{60, 2_592_000} {
		r := f.holdReq(randKey(), wa, 10, "EUR", "payout-"+randKey(), map[string]any{"expires_in": in})
		if r.Status != 201 {
			t.Fatalf("expires_in %d: %d %s", in, r.Status, r.Body)
		}
		if hold := f.tx(r); !apiTime(f, hold.ExpiresAt).Equal(apiTime(f, &hold.CreatedAt).Add(time.Duration(in) * time.Second)) {
			t.Fatalf("expires_in %d: %d %s", in, r.Status, r.Body)
		}
	}
	before := f.Count("SELECT count(*) FROM ledger_transactions")
	for _, in := range []any{59, 2_592_001, 0, -60, 3600.5, "3600"} {
		for _, lang := range []string{"fr", "en"} {
			r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/internal/holds", Headers: map[string]string{"X-Internal-Key": f.Key, "Idempotency-Key": randKey(), "X-App-Locale": lang},
				JSON: map[string]any{"wallet_id": wa, "amount": 10, "currency": "EUR", "external_reference": "payout-" + randKey(), "expires_in": in}})
			if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || r.Errors()["expires_in"] == nil {
				t.Fatalf("expires_in %v (%s): %d %s", in, lang, r.Status, r.Body)
			}
		}
	}
	if f.Count("SELECT count(*) FROM ledger_transactions") != before {
		t.Fatal("an invalid hold wrote a transaction")
	}
	f.invariants()
}
