package events_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/testkit"
)

// 200 concurrent transfers while a reader pages the feed, and a transaction open elsewhere the
// whole time that wrote an event first (the smallest id of all) and commits last. The reader
// gets every transfer event while that transaction is still open (it delays nothing), then its
// event once it commits (placed after the others: never skipped); each event once; and the
// events of every wallet in the order of its ledger entries (commit order).
func TestFeedUnderConcurrentTransfers(t *testing.T) {
	f := newFixture(t)
	const nUsers, nTransfers = 10, 200
	users, wallets := f.FundedUsers(nUsers, 1_000_000, "EUR")
	start := f.settle()
	ctx := context.Background()
	long, err := f.DB().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = long.Rollback(ctx) }()
	if err := events.Record(ctx, db.New(long), f.Clock.Now(), events.OfUser(events.UserRestricted, users[0].ID,
		api.UserRestrictionEventData{RestrictionId: 1, Reason: "the long transaction"})); err != nil {
		t.Fatal(err)
	}

	r := newReader(f, start, "transfer.completed,transfer.failed,user.restricted")
	go r.run()
	defer r.stop()
	var wg sync.WaitGroup
	errs := make(chan string, nTransfers)
	for i := 0; i < nTransfers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			from, to := rand.IntN(nUsers), rand.IntN(nUsers-1)
			if to >= from {
				to++
			}
			if resp := f.Transfer(users[from], wallets[from], users[to].Username, int64(1+rand.IntN(50)), "EUR"); resp.Status != 201 {
				errs <- fmt.Sprintf("transfer: %d %s", resp.Status, resp.Body)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	seen := r.waitFor(t, nTransfers)
	if n := len(seen); n != nTransfers {
		t.Fatalf("with the long transaction open the reader got %d events, want the %d transfers", n, nTransfers)
	}
	if err := long.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	seen = r.waitFor(t, nTransfers+1)
	last := seen[len(seen)-1]
	if last.Type != "user.restricted" || last.ID >= seen[0].ID {
		t.Fatalf("the long transaction's event (smallest id, committed last) is not last: %+v", last)
	}
	f.checkOnceInCommitOrder(t, seen[:nTransfers])
}

// checkOnceInCommitOrder checks that no event is repeated and that, wallet by wallet, the
// transfer events come in the order of the wallet's ledger entries.
func (f *fixture) checkOnceInCommitOrder(t *testing.T, seen []stored) {
	t.Helper()
	ids := map[int64]bool{}
	lastVersion := map[int64]int64{}
	for _, e := range seen {
		if ids[e.ID] {
			t.Fatalf("event %d read twice", e.ID)
		}
		ids[e.ID] = true
		d := e.typed.(api.TransferCompletedEvent).Data
		rows := f.Query("SELECT account_id, version FROM ledger_entries WHERE transaction_id = $1", d.TransactionId)
		for rows.Next() {
			var acct, v int64
			if err := rows.Scan(&acct, &v); err != nil {
				t.Fatal(err)
			}
			if v <= lastVersion[acct] {
				t.Fatalf("account %d: the event of entry version %d comes after version %d", acct, v, lastVersion[acct])
			}
			lastVersion[acct] = v
		}
		rows.Close()
	}
}

// reader pages the feed from a cursor, polling, until stopped.
type reader struct {
	f      *fixture
	cursor string
	types  string
	mu     sync.Mutex
	seen   []stored
	done   chan struct{}
	ended  chan struct{}
}

func newReader(f *fixture, cursor, types string) *reader {
	return &reader{f: f, cursor: cursor, types: types, done: make(chan struct{}), ended: make(chan struct{})}
}

func (r *reader) run() {
	defer close(r.ended)
	for {
		select {
		case <-r.done:
			return
		default:
		}
		page := r.f.page(r.f.feed, url.Values{"after": {r.cursor}, "types": {r.types}, "limit": {"13"}})
		p := testkit.Decode[api.EventsPage](r.f.T, page)
		r.mu.Lock()
		for _, e := range p.Data {
			r.seen = append(r.seen, decodeEvent(r.f.T, e))
		}
		r.mu.Unlock()
		r.cursor = p.NextCursor
		if !p.HasMore {
			time.Sleep(20 * time.Millisecond) // caught up: poll
		}
	}
}

// waitFor returns what the reader has read once it holds n events (or after a minute).
func (r *reader) waitFor(t *testing.T, n int) []stored {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r.mu.Lock()
		got := slices.Clone(r.seen)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *reader) stop() { close(r.done); <-r.ended }

// Events past the retention are pruned, oldest first; a cursor older than what is kept is 410;
// without a cursor the feed starts at the oldest event kept. (The events of the package's other
// tests are older than these, and pruned with the first two.)
func TestRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.CreateUser()
	restrict := func() {
		if r := f.internal("POST", "/api/v1/internal/compliance/users/"+strconv.FormatInt(u.ID, 10)+"/restrictions",
			map[string]any{"reason": "retention"}); r.Status != 201 {
			t.Fatalf("restrict: %d %s", r.Status, r.Body)
		}
	}
	before := f.settle()
	restrict()
	restrict()
	afterOld := f.settle()
	f.Clock.Advance(20 * 24 * time.Hour)
	restrict()
	f.settle()
	f.Clock.Advance(11 * 24 * time.Hour) // the first two are 31 days old, the third 11
	// The package database holds the other tests' events too (all older): count ours.
	if n, err := f.PruneEvents(ctx); err != nil || n < 2 {
		t.Fatalf("pruned %d (%v), want at least our 2", n, err)
	}
	if r := f.page(f.feed, url.Values{"after": {before}}); r.Status != 410 || r.Code() != "EVENT_CURSOR_EXPIRED" {
		t.Fatalf("cursor before the pruned events: %d %s", r.Status, r.Body)
	}
	if evs, _ := f.since(afterOld, ""); len(evs) != 1 {
		t.Fatalf("after the pruned events: %d events, want 1", len(evs))
	}
	evs, next := f.since("", "")
	if len(evs) != 1 || evs[0].Type != "user.restricted" {
		t.Fatalf("from the start: %+v", evs)
	}
	f.Clock.Advance(30 * 24 * time.Hour)
	if n, err := f.PruneEvents(ctx); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want the last one", n, err)
	}
	if evs, last := f.since("", ""); len(evs) != 0 || last != next {
		t.Fatalf("everything pruned: %d events, cursor %s (want %s, where the pruned range ends)", len(evs), last, next)
	}
}

// The feed needs events:read (or events:*); bad parameters are 422 naming the field.
func TestFeedScopeAndParameters(t *testing.T) {
	f := newFixture(t)
	f.settle()
	for _, c := range []struct {
		key  string
		want int
	}{
		{"", 401},
		{"fxik_unknownkeyunknownkeyunknown", 401},
		{f.CreateInternalKey("ledger-reader-"+testkit.RandomHex(3), "ledger:read"), 403},
		{f.CreateInternalKey("compliance-all-"+testkit.RandomHex(3), "compliance:*"), 403},
		{f.CreateInternalKey("events-all-"+testkit.RandomHex(3), "events:*"), 200},
		{f.feed, 200},
	} {
		if r := f.page(c.key, url.Values{}); r.Status != c.want {
			t.Errorf("key %q: %d %s, want %d", c.key, r.Status, r.Body, c.want)
		}
	}
	for _, c := range []struct {
		q     url.Values
		field string
	}{
		{url.Values{"after": {"abc"}}, "after"},
		{url.Values{"after": {"-1"}}, "after"},
		{url.Values{"after": {"12345678901234567890"}}, "after"},
		{url.Values{"after": {"9999999999999999999"}}, "after"},
		{url.Values{"after": {"922337203685477580"}}, "after"}, // a position the feed never gave
		{url.Values{"types": {"nope"}}, "types"},
		{url.Values{"types": {"transfer.completed,nope"}}, "types"},
		{url.Values{"limit": {"0"}}, "limit"},
		{url.Values{"limit": {"1001"}}, "limit"},
		{url.Values{"limit": {"ten"}}, "limit"},
	} {
		r := f.page(f.feed, c.q)
		if _, named := r.Errors()[c.field]; r.Status != 422 || r.Code() != "VALIDATION_FAILED" || !named {
			t.Errorf("%v: %d %s, want 422 on %s", c.q, r.Status, r.Body, c.field)
		}
	}
}
