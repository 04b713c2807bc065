package ledger_test

import (
	"reflect"
	"testing"

	"github.com/flowxi/backend/testkit"
)

// duplicateOf checks a DUPLICATE_EXTERNAL_REFERENCE answer naming the original transaction.
func (f *fixture) duplicateOf(r *testkit.Resp, original int64) {
	f.T.Helper()
	if r.Status != 409 || r.Code() != "DUPLICATE_EXTERNAL_REFERENCE" || f.tx(r).Id != original {
		f.T.Fatalf("want DUPLICATE_EXTERNAL_REFERENCE of %d: %d %s", original, r.Status, r.Body)
	}
}

// One credit per bank reference: a retry under a new key, under a second internal key, or 20 at
// once all answer with the original; the same key replays its own outcome.
func TestDepositReferenceCreditedOnce(t *testing.T) {
	f := newFixture(t)
	ada := f.CreateUser()
	wa, wx := f.Wallet(ada, "EUR"), f.Wallet(ada, "XOF")
	ref, key := "SEPA-"+randKey(), randKey()
	first := f.depositReq(key, wa, 1_000, "EUR", ref)
	if first.Status != 201 || first.Code() != "DEPOSIT_POSTED" {
		t.Fatalf("deposit: %d %s", first.Status, first.Body)
	}
	orig := f.tx(first).Id
	txs := f.Count("SELECT count(*) FROM ledger_transactions")

	retryKey := randKey()
	dup := f.depositReq(retryKey, wa, 1_000, "EUR", ref)
	f.duplicateOf(dup, orig)
	// Compared as maps on purpose: every field, also one api.Transaction would not declare.
	if !reflect.DeepEqual(dup.Data(), first.Data()) {
		t.Fatalf("the duplicate's data is not the original transaction:\n%s\n%s", dup.Body, first.Body)
	}
	// Whatever the amount or the wallet: the reference was credited.
	f.duplicateOf(f.depositReq(randKey(), wa, 2_000, "EUR", ref), orig)
	// A second internal key (a key rotation) is no way around it.
	other := f.secondKey()
	f.duplicateOf(f.internalAs(other, "POST", "/api/v1/internal/deposits", randKey(),
		map[string]any{"wallet_id": wa, "amount": 1_000, "currency": "EUR", "external_reference": ref}), orig)
	// Each key replays its own stored outcome.
	if r := f.depositReq(key, wa, 1_000, "EUR", ref); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "true" || f.tx(r).Id != orig {
		t.Fatalf("replay of the original: %d %s", r.Status, r.Body)
	}
	r := f.depositReq(retryKey, wa, 1_000, "EUR", ref)
	f.duplicateOf(r, orig)
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay of the duplicate: %v", r.Header)
	}
	if f.Balance(wa) != 1_000 || f.Count("SELECT count(*) FROM ledger_transactions") != txs {
		t.Fatalf("duplicates wrote: balance %d", f.Balance(wa))
	}
	// The reference is unique per currency.
	if r := f.depositReq(randKey(), wx, 500, "XOF", ref); r.Status != 201 {
		t.Fatalf("same reference in XOF: %d %s", r.Status, r.Body)
	}

	// 20 at once with one new reference and 20 keys: one credit.
	ref2 := "SEPA-" + randKey()
	res := make([]*testkit.Resp, 20)
	inParallel(len(res), len(res), func(i int) { res[i] = f.depositReq(randKey(), wa, 700, "EUR", ref2) })
	var posted []int64
	for _, r := range res {
		if r.Status == 201 {
			posted = append(posted, f.tx(r).Id)
		}
	}
	if len(posted) != 1 {
		t.Fatalf("%d deposits posted for one reference", len(posted))
	}
	for _, r := range res {
		if r.Status != 201 {
			f.duplicateOf(r, posted[0])
		}
	}
	if f.Balance(wa) != 1_700 {
		t.Fatalf("balance %d after 20 deposits of one reference", f.Balance(wa))
	}

	// A failed deposit does not use its reference up.
	ref3 := "SEPA-" + randKey()
	f.setStatus(wa, "frozen")
	if r := f.depositReq(randKey(), wa, 300, "EUR", ref3); r.Status != 409 || r.Code() != "WALLET_FROZEN" || f.tx(r).Status != "failed" {
		t.Fatalf("deposit to a frozen wallet: %d %s", r.Status, r.Body)
	}
	f.setStatus(wa, "active")
	if r := f.depositReq(randKey(), wa, 300, "EUR", ref3); r.Status != 201 {
		t.Fatalf("deposit after a failed one: %d %s", r.Status, r.Body)
	}
	if f.Balance(wa) != 2_000 {
		t.Fatalf("balance %d", f.Balance(wa))
	}
	f.invariants()
}

// Holds are unique by reference among pending and settled ones: a voided hold frees it.
func TestHoldReferenceUsedOnce(t *testing.T) {
	f := newFixture(t)
	ada, wa := f.funded("EUR", 10_000)
	ref := "PAYOUT-" + randKey()
	h := f.holdReq(randKey(), wa, 1_000, "EUR", ref)
	if h.Status != 201 {
		t.Fatalf("hold: %d %s", h.Status, h.Body)
	}
	first := f.tx(h).Id
	if !testkit.Is(f.tx(h).FromWalletId, wa) {
		t.Fatalf("the hold does not name its wallet: %s", h.Body)
	}
	dup := f.holdReq(randKey(), wa, 1_000, "EUR", ref)
	f.duplicateOf(dup, first)
	// Compared as maps on purpose, as above.
	if !reflect.DeepEqual(dup.Data(), h.Data()) {
		t.Fatalf("the duplicate's data is not the original hold:\n%s\n%s", dup.Body, h.Body)
	}
	f.duplicateOf(f.internalAs(f.secondKey(), "POST", "/api/v1/internal/holds", randKey(),
		map[string]any{"wallet_id": wa, "amount": 500, "currency": "EUR", "external_reference": ref}), first)
	if w := f.walletView(ada, wa); w.Pending != 1_000 {
		t.Fatalf("duplicates reserved: %v", w)
	}
	// A deposit may carry the same reference: references are unique per kind.
	if r := f.depositReq(randKey(), wa, 1, "EUR", ref); r.Status != 201 {
		t.Fatalf("deposit with a payout's reference: %d %s", r.Status, r.Body)
	}

	if r := f.finishReq(first, "void"); r.Status != 200 {
		t.Fatalf("void: %d %s", r.Status, r.Body)
	}
	h2 := f.holdReq(randKey(), wa, 2_000, "EUR", ref)
	if h2.Status != 201 {
		t.Fatalf("hold after the void: %d %s", h2.Status, h2.Body)
	}
	second := f.tx(h2).Id
	if r := f.finishReq(second, "settle"); r.Status != 200 {
		t.Fatalf("settle: %d %s", r.Status, r.Body)
	}
	// Settled: the reference stays used.
	f.duplicateOf(f.holdReq(randKey(), wa, 2_000, "EUR", ref), second)

	// 20 at once: one hold.
	ref2 := "PAYOUT-" + randKey()
	res := make([]*testkit.Resp, 20)
	inParallel(len(res), len(res), func(i int) { res[i] = f.holdReq(randKey(), wa, 100, "EUR", ref2) })
	created := 0
	for _, r := range res {
		if r.Status == 201 {
			created++
		} else if r.Code() != "DUPLICATE_EXTERNAL_REFERENCE" {
			t.Fatalf("concurrent hold: %d %s", r.Status, r.Body)
		}
	}
	if w := f.walletView(ada, wa); created != 1 || w.Pending != 100 || f.Balance(wa) != 8_001 {
		t.Fatalf("%d holds created for one reference: %v", created, w)
	}

	// A failed hold does not use its reference up.
	ref3 := "PAYOUT-" + randKey()
	if r := f.holdReq(randKey(), wa, 9_000, "EUR", ref3); r.Status != 409 || r.Code() != "INSUFFICIENT_FUNDS" {
		t.Fatalf("hold over the funds: %d %s", r.Status, r.Body)
	}
	if r := f.holdReq(randKey(), wa, 100, "EUR", ref3); r.Status != 201 {
		t.Fatalf("hold after a failed one: %d %s", r.Status, r.Body)
	}
	f.invariants()
}
