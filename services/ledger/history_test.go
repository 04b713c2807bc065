package ledger_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/testkit"
)

// history lists every item of a wallet's history that query selects, page by page (limit
// items each), following next_cursor; each page is checked against the limit.
func (f *fixture) history(u testkit.User, wallet int64, query url.Values, limit int) []api.HistoryItem {
	f.T.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", fmt.Sprint(limit))
	var all []api.HistoryItem
	for pages := 0; ; pages++ {
		r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wallet) + "/transactions?" + q.Encode(), Token: u.Token})
		if r.Status != 200 {
			f.T.Fatalf("history %s: %d %s", q.Encode(), r.Status, r.Body)
		}
		page := testkit.Decode[api.HistoryResponse](f.T, r).Data
		if len(page.Items) > limit || (page.NextCursor != nil && len(page.Items) < limit) || pages > 10_000 {
			f.T.Fatalf("history %s: a page of %d items (limit %d), next cursor %v", q.Encode(), len(page.Items), limit, page.NextCursor)
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		q.Set("cursor", *page.NextCursor)
	}
}

// checkChain fails unless, read oldest first, each posted item's balance_after is the previous
// one's plus its amount (from 0), the last one is balance, the items that moved nothing have
// none, and the posted items' instants never go back.
func checkChain(t *testing.T, items []api.HistoryItem, balance int64) {
	t.Helper()
	bal, last := int64(0), time.Time{}
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if it.Status != "posted" {
			if it.BalanceAfter != nil {
				t.Fatalf("%s item %d has a balance_after", it.Status, it.TransactionId)
			}
			continue
		}
		if it.BalanceAfter == nil || *it.BalanceAfter != bal+it.Amount {
			t.Fatalf("item %d (%d): balance_after %v, previous %d", it.TransactionId, it.Amount, it.BalanceAfter, bal)
		}
		bal = *it.BalanceAfter
		at := instant(t, it)
		if at.Before(last) {
			t.Fatalf("item %d posted at %s, before the item below it (%s)", it.TransactionId, at, last)
		}
		last = at
	}
	if bal != balance {
		t.Fatalf("the history ends at %d, the wallet holds %d", bal, balance)
	}
}

// instant is an item's place in time: when it posted, else when it was recorded.
func instant(t *testing.T, it api.HistoryItem) time.Time {
	t.Helper()
	s := it.CreatedAt
	if it.Status == "posted" {
		s = *it.FinalizedAt
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func ids(items []api.HistoryItem) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.TransactionId
	}
	return out
}

// Concurrent credits, debits, holds and refusals on one wallet: every page, read back, is in
// posting order (each balance follows from the one before), and nothing is lost or repeated.
func TestHistoryPostingOrderUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	owner, w := f.funded("EUR", 1_000_000)
	peers := make([]testkit.User, 6)
	wallets := make([]int64, len(peers))
	for i := range peers {
		peers[i], wallets[i] = f.funded("EUR", 1_000_000)
	}
	const n = 120
	inParallel(n, 16, func(i int) {
		p := i % len(peers)
		var r *testkit.Resp
		switch i % 6 {
		case 0, 1, 2: // credits
			r = f.Transfer(peers[p], wallets[p], owner.Username, int64(100+i), "EUR")
		case 3, 4: // debits
			r = f.Transfer(owner, w, peers[p].Username, int64(50+i), "EUR")
		default: // holds and refused transfers
			if i%12 == 5 {
				r = f.holdReq(randKey(), w, int64(10+i), "EUR", "payout-"+randKey())
			} else {
				r = f.Transfer(owner, w, peers[p].Username, 900_000_000, "EUR")
			}
		}
		if r.Status != 201 && r.Code() != "LIMIT_EXCEEDED" {
			t.Errorf("movement %d: %d %s", i, r.Status, r.Body)
		}
	})
	// 1 deposit + n movements, each one item; pages of 7 and of 100 list the same.
	items := f.history(owner, w, nil, 7)
	if len(items) != n+1 || !slices.Equal(ids(items), ids(f.history(owner, w, nil, 100))) {
		t.Fatalf("%d items for %d movements, or pages of 7 and 100 disagree", len(items), n+1)
	}
	seen := map[int64]bool{}
	for _, it := range items {
		if seen[it.TransactionId] {
			t.Fatalf("item %d listed twice", it.TransactionId)
		}
		seen[it.TransactionId] = true
	}
	checkChain(t, items, f.Balance(w))
	f.invariants()
}

// Paging while transfers keep arriving: the new items land above the first page, the pages
// after it neither repeat nor skip an item of the history as it was.
func TestHistoryPagingIsStableUnderWrites(t *testing.T) {
	f := newFixture(t)
	owner, w := f.funded("EUR", 100_000)
	peer, pw := f.funded("EUR", 1_000_000)
	for i := 0; i < 40; i++ {
		f.Transfer(peer, pw, owner.Username, int64(10+i), "EUR")
	}
	before := f.history(owner, w, nil, 100)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f.Transfer(peer, pw, owner.Username, int64(1+i%7), "EUR")
		}
	}()
	paged := f.history(owner, w, nil, 3)
	close(stop)
	wg.Wait()
	old := map[int64]bool{}
	for _, it := range before {
		old[it.TransactionId] = true
	}
	k := 0
	for k < len(paged) && !old[paged[k].TransactionId] {
		k++ // arrived while paging: on top
	}
	if !slices.Equal(ids(paged[k:]), ids(before)) {
		t.Fatalf("paged under writes: %v, want %d new items then %v", ids(paged), k, ids(before))
	}
	checkChain(t, f.history(owner, w, nil, 100), f.Balance(w))
}

// newLongFixture is a fixture whose sessions outlive months of fake time.
func newLongFixture(t *testing.T) *fixture {
	return newFixtureWith(t, func(c *config.Config) { c.TokenTTL, c.TokenIdleTTL = 10*365*24*time.Hour, 10*365*24*time.Hour })
}

// mixedHistory gives a wallet a few hundred movements of every kind and status over about five
// months (the fake clock jumps 1–24 h between them): deposits, transfers out to and in from
// three users, holds settled, voided or left pending, refused transfers. It returns the owner,
// the wallet and the counterparties.
func mixedHistory(f *fixture) (testkit.User, int64, []testkit.User) {
	f.T.Helper()
	owner, w := f.funded("EUR", 2_000_000)
	cps := make([]testkit.User, 3)
	cw := make([]int64, 3)
	for i := range cps {
		cps[i], cw[i] = f.funded("EUR", 5_000_000)
	}
	rng := rand.New(rand.NewPCG(19, 19))
	var open []int64
	var placed []time.Time
	finish := func() *testkit.Resp {
		r := f.finishReq(open[0], []string{"settle", "void"}[rng.IntN(2)])
		open, placed = open[1:], placed[1:]
		return r
	}
	for i := 0; i < 360; i++ {
		f.Clock.Advance(time.Duration(1+rng.IntN(24)) * time.Hour)
		if len(open) > 0 && f.Clock.Now().Sub(placed[0]) > 5*24*time.Hour { // before the hold expires
			if r := finish(); r.Status != 200 {
				f.T.Fatalf("finish: %d %s", r.Status, r.Body)
			}
		}
		c := rng.IntN(len(cps))
		var r *testkit.Resp
		switch a := rng.IntN(20); {
		case a < 3:
			f.Deposit(w, int64(1_000+rng.IntN(60_000)), "EUR")
			continue
		case a < 9:
			r = f.Transfer(owner, w, cps[c].Username, int64(100+rng.IntN(8_000)), "EUR")
		case a < 13:
			r = f.Transfer(cps[c], cw[c], owner.Username, int64(100+rng.IntN(8_000)), "EUR")
		case a < 16:
			r = f.holdReq(randKey(), w, int64(500+rng.IntN(10_000)), "EUR", "payout-"+randKey())
			open, placed = append(open, f.tx(r).Id), append(placed, f.Clock.Now())
		case a < 19 && len(open) > 0:
			r = finish()
		default: // over the daily limit: recorded as failed
			r = f.Transfer(owner, w, cps[c].Username, 2_000_000, "EUR")
			if r.Status != 409 || f.tx(r).Status != "failed" {
				f.T.Fatalf("refused transfer: %d %s", r.Status, r.Body)
			}
			continue
		}
		if r.Status != 201 && r.Status != 200 {
			f.T.Fatalf("movement %d: %d %s", i, r.Status, r.Body)
		}
	}
	return owner, w, cps
}

// Every filter alone and in combination, compared with the same selection made here from the
// full unfiltered history; paged by 7 and by 100, the pages concatenated equal that selection.
func TestHistoryFilters(t *testing.T) {
	f := newLongFixture(t)
	owner, w, cps := mixedHistory(f)
	full := f.history(owner, w, nil, 100)
	if len(full) < 300 || full[len(full)-1].Kind != "deposit" {
		t.Fatalf("%d items", len(full))
	}
	checkChain(t, full, f.Balance(w))
	// Instants taken from the history itself: on an item (included by from, excluded by to)
	// and a nanosecond after one (the store keeps microseconds).
	oldest := instant(t, full[len(full)-1])
	t1, t2 := instant(t, full[len(full)*2/3]), instant(t, full[len(full)/3])
	month := t1.AddDate(0, 1, 0)
	bob := cps[0].Username
	abs := func(a int64) int64 { return max(a, -a) }
	rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	type pred func(api.HistoryItem) bool
	in := func(from, to time.Time) pred {
		return func(it api.HistoryItem) bool { a := instant(t, it); return !a.Before(from) && a.Before(to) }
	}
	is := func(field func(api.HistoryItem) string, v string) pred {
		return func(it api.HistoryItem) bool { return field(it) == v }
	}
	kind := func(it api.HistoryItem) string { return string(it.Kind) }
	status := func(it api.HistoryItem) string { return string(it.Status) }
	dir := func(it api.HistoryItem) string { return map[bool]string{true: "out", false: "in"}[it.Amount < 0] }
	cp := func(it api.HistoryItem) string {
		if it.Counterparty == nil {
			return ""
		}
		return *it.Counterparty
	}
	amount := func(lo, hi int64) pred {
		return func(it api.HistoryItem) bool { return abs(it.Amount) >= lo && abs(it.Amount) <= hi }
	}
	cases := []struct {
		name  string
		query string
		want  []pred
	}{
		{"none", "", nil},
		{"from", "from=" + rfc(t1), []pred{in(t1, time.Time{}.AddDate(9000, 0, 0))}},
		{"from just after an item", "from=" + rfc(t1.Add(time.Nanosecond)), []pred{in(t1.Add(time.Nanosecond), time.Time{}.AddDate(9000, 0, 0))}},
		{"to", "to=" + rfc(t2), []pred{in(time.Time{}, t2)}},
		{"from and to", "from=" + rfc(t1) + "&to=" + rfc(t2), []pred{in(t1, t2)}},
		{"a month", "from=" + rfc(t1) + "&to=" + rfc(month), []pred{in(t1, month)}},
		{"from equals to", "from=" + rfc(t1) + "&to=" + rfc(t1), []pred{in(t1, t1)}},
		{"before everything", "to=" + rfc(oldest), []pred{in(time.Time{}, oldest)}},
		{"an offset", "from=" + url.QueryEscape(t1.In(time.FixedZone("", 5*3600)).Format(time.RFC3339Nano)), []pred{in(t1, time.Time{}.AddDate(9000, 0, 0))}},
		{"deposits", "kind=deposit", []pred{is(kind, "deposit")}},
		{"transfers", "kind=transfer", []pred{is(kind, "transfer")}},
		{"withdrawals", "kind=withdrawal", []pred{is(kind, "withdrawal")}},
		{"posted", "status=posted", []pred{is(status, "posted")}},
		{"failed", "status=failed", []pred{is(status, "failed")}},
		{"pending", "status=pending", []pred{is(status, "pending")}},
		{"voided", "status=voided", []pred{is(status, "voided")}},
		{"in", "direction=in", []pred{is(dir, "in")}},
		{"out", "direction=out", []pred{is(dir, "out")}},
		{"min amount", "min_amount=5000", []pred{amount(5000, 1<<62)}},
		{"max amount", "max_amount=2000", []pred{amount(0, 2000)}},
		{"amount range", "min_amount=1000&max_amount=3000", []pred{amount(1000, 3000)}},
		{"one amount", "min_amount=0&max_amount=0", []pred{amount(0, 0)}},
		{"counterparty", "counterparty=" + bob, []pred{is(cp, bob)}},
		{"unknown counterparty", "counterparty=nobody", []pred{is(cp, "nobody")}},
		{"to bob", "counterparty=" + bob + "&direction=out", []pred{is(cp, bob), is(dir, "out")}},
		{"from bob in a window", "counterparty=" + bob + "&direction=in&from=" + rfc(t1) + "&to=" + rfc(t2), []pred{is(cp, bob), is(dir, "in"), in(t1, t2)}},
		{"big transfers out", "kind=transfer&direction=out&min_amount=4000", []pred{is(kind, "transfer"), is(dir, "out"), amount(4000, 1<<62)}},
		{"failed in a window", "status=failed&from=" + rfc(t1) + "&to=" + rfc(t2), []pred{is(status, "failed"), in(t1, t2)}},
		{"failed received", "status=failed&direction=in", []pred{is(status, "failed"), is(dir, "in")}},
		{"failed to bob", "status=failed&counterparty=" + bob, []pred{is(status, "failed"), is(cp, bob)}},
		{"settled withdrawals in a window", "kind=withdrawal&status=posted&from=" + rfc(t1) + "&to=" + rfc(t2), []pred{is(kind, "withdrawal"), is(status, "posted"), in(t1, t2)}},
		{"voided small holds", "status=voided&max_amount=6000", []pred{is(status, "voided"), amount(0, 6000)}},
		{"deposits out", "kind=deposit&direction=out", []pred{is(kind, "deposit"), is(dir, "out")}},
		{"deposits of a month", "kind=deposit&from=" + rfc(t1) + "&to=" + rfc(month) + "&min_amount=20000", []pred{is(kind, "deposit"), in(t1, month), amount(20000, 1<<62)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []api.HistoryItem
			for _, it := range full {
				if !slices.ContainsFunc(tc.want, func(p pred) bool { return !p(it) }) {
					want = append(want, it)
				}
			}
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{7, 100} {
				if got := f.history(owner, w, q, limit); !slices.Equal(ids(got), ids(want)) {
					t.Fatalf("limit %d: %d items %v, want %d %v", limit, len(got), ids(got), len(want), ids(want))
				}
			}
		})
	}
}

// Bad filters are 422 naming the field, in French and in English.
func TestHistoryFilterValidation(t *testing.T) {
	f := newFixture(t)
	owner, w := f.funded("EUR", 1_000)
	cases := []struct {
		query, field, rule, param string
	}{
		{"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from", "before_or_equal", "to"},
		{"from=yesterday", "from", "format.date-time", ""},
		{"to=2026-13-01T00:00:00Z", "to", "format.date-time", ""},
		{"from=2026-03-01", "from", "format.date-time", ""},
		{"kind=refund", "kind", "enum", ""},
		{"status=done", "status", "enum", ""},
		{"direction=sideways", "direction", "enum", ""},
		{"min_amount=-1", "min_amount", "minimum", "0"},
		{"max_amount=-5", "max_amount", "minimum", "0"},
		{"min_amount=10&max_amount=9", "min_amount", "lte", "max_amount"},
		{"min_amount=ten", "min_amount", "invalid", ""},
		{"cursor=12", "cursor", "pattern", ""},
		{"counterparty=", "counterparty", "minLength", "1"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			for _, lang := range []string{"fr", "en"} {
				r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(w) + "/transactions?" + tc.query, Token: owner.Token,
					Headers: map[string]string{"X-App-Locale": lang}})
				msgs, _ := r.Errors()[tc.field].([]any)
				want := i18n.Validation(lang, tc.rule, tc.field, tc.param)
				if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || len(r.Errors()) != 1 || len(msgs) != 1 || msgs[0] != want {
					t.Fatalf("%s: %d %s, want %q on %s", lang, r.Status, r.Body, want, tc.field)
				}
				if !i18n.Has(lang, "validation."+tc.rule) || r.Message() != i18n.Text(lang, "VALIDATION_FAILED") {
					t.Fatalf("%s: rule %s or message %q not localized", lang, tc.rule, r.Message())
				}
			}
		})
	}
	// Someone else's wallet stays hidden, filters or not.
	eve := f.CreateUser()
	if r := f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(w) + "/transactions?kind=deposit", Token: eve.Token}); r.Status != 404 || r.Code() != "WALLET_NOT_FOUND" {
		t.Fatalf("foreign history: %d %s", r.Status, r.Body)
	}
}

// balanceAt reads a wallet's balances at an instant.
func (f *fixture) balanceAt(u testkit.User, wallet int64, at time.Time, lang string) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: "GET", Path: "/api/v1/wallets/" + itoa(wallet) + "/balance?at=" + url.QueryEscape(at.Format(time.RFC3339Nano)),
		Token: u.Token, Headers: map[string]string{"X-App-Locale": lang}})
}

// The balance at every instant of the history (each item's instants, a microsecond before them
// and between them) equals the running sum computed here from the full history: the posted
// amounts up to that instant, and the holds open then (placed at or before it, finalized after).
func TestBalanceAt(t *testing.T) {
	f := newLongFixture(t)
	owner, w, _ := mixedHistory(f)
	full := f.history(owner, w, nil, 100)
	stamp := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	var instants []time.Time
	for _, it := range full {
		instants = append(instants, stamp(it.CreatedAt))
		if it.FinalizedAt != nil {
			instants = append(instants, stamp(*it.FinalizedAt))
		}
	}
	slices.SortFunc(instants, func(a, b time.Time) int { return a.Compare(b) })
	instants = slices.CompactFunc(instants, time.Time.Equal)
	probes := []time.Time{}
	for i, at := range instants {
		probes = append(probes, at, at.Add(-time.Microsecond))
		if i+1 < len(instants) {
			probes = append(probes, at.Add(instants[i+1].Sub(at)/2))
		}
	}
	for _, at := range probes {
		var balance, pending int64
		for _, it := range full {
			created, done := stamp(it.CreatedAt), it.FinalizedAt != nil && !stamp(*it.FinalizedAt).After(at)
			if it.Status == "posted" && done {
				balance += it.Amount
			}
			if it.Kind == "withdrawal" && it.Status != "failed" && !created.After(at) && !done {
				pending -= it.Amount
			}
		}
		r := f.balanceAt(owner, w, at, "en")
		d := testkit.DataOf[api.BalanceAt](t, r)
		if r.Status != 200 || r.Code() != "BALANCE_AT_OK" || !d.WalletExisted || d.Balance != balance || d.Pending != pending ||
			d.AvailableBalance != balance-pending || d.At != at.UTC().Format("2006-01-02T15:04:05.000000Z") {
			t.Fatalf("at %s: %s, want balance %d, pending %d", at.Format(time.RFC3339Nano), r.Body, balance, pending)
		}
	}
	// Now: the wallet as listed; at its opening: zeros; before it: zeros and the flag.
	live := f.walletView(owner, w)
	now := testkit.DataOf[api.BalanceAt](t, f.balanceAt(owner, w, f.Clock.Now(), "fr"))
	if now.Balance != live.Balance || now.Pending != live.Pending || now.AvailableBalance != live.AvailableBalance {
		t.Fatalf("now: %+v, wallet %+v", now, live)
	}
	opened := stamp(live.CreatedAt)
	for at, existed := range map[time.Time]bool{opened: true, opened.Add(-time.Microsecond): false, opened.AddDate(-1, 0, 0): false} {
		d := testkit.DataOf[api.BalanceAt](t, f.balanceAt(owner, w, at, "fr"))
		if d.WalletExisted != existed || d.Balance != 0 || d.Pending != 0 || d.AvailableBalance != 0 {
			t.Fatalf("at %s (opened %s): %+v", at, opened, d)
		}
	}
	checkBalanceAtRefusals(f, owner, w)
}

// checkBalanceAtRefusals: an instant in the future, a malformed or a missing one are 422 on
// `at` (French and English); another user's wallet is not found.
func checkBalanceAtRefusals(f *fixture, owner testkit.User, w int64) {
	f.T.Helper()
	path := "/api/v1/wallets/" + itoa(w) + "/balance"
	cases := []struct{ query, rule string }{
		{"?at=" + url.QueryEscape(f.Clock.Now().Add(time.Minute).Format(time.RFC3339Nano)), "not_future"},
		{"?at=2026-02-30T00:00:00Z", "format.date-time"},
		{"?at=last+week", "format.date-time"},
		{"", "required"},
	}
	for _, tc := range cases {
		for _, lang := range []string{"fr", "en"} {
			r := f.Do(testkit.Req{Method: "GET", Path: path + tc.query, Token: owner.Token, Headers: map[string]string{"X-App-Locale": lang}})
			msgs, _ := r.Errors()["at"].([]any)
			if want := i18n.Validation(lang, tc.rule, "at", ""); r.Status != 422 || len(r.Errors()) != 1 || len(msgs) != 1 || msgs[0] != want ||
				!i18n.Has(lang, "validation."+tc.rule) {
				f.T.Fatalf("%s %s: %d %s, want %q", tc.query, lang, r.Status, r.Body, want)
			}
		}
	}
	eve := f.CreateUser()
	if r := f.balanceAt(eve, w, f.Clock.Now(), "en"); r.Status != 404 || r.Code() != "WALLET_NOT_FOUND" {
		f.T.Fatalf("foreign wallet: %d %s", r.Status, r.Body)
	}
}
