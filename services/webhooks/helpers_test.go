package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/webhooks"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a running server whose webhooks may reach 127.0.0.1 (the test receivers), with an
// internal key holding webhooks:admin.
type fixture struct {
	*testkit.Env
	key string
}

// loopbackAllowed is the allow-list of the tests: their receivers listen on 127.0.0.1.
func loopbackAllowed(c *config.Config) {
	c.WebhookAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

func newFixture(t testing.TB, adjust ...func(*config.Config)) *fixture {
	return keyed(testkit.New(t, append([]func(*config.Config){loopbackAllowed}, adjust...)...))
}

// keyed gives env an internal key holding webhooks:admin; the subscriptions made with it are
// deleted when the test ends (the package's tests share one database: a later test's events
// must not go to an earlier test's receivers).
func keyed(env *testkit.Env) *fixture {
	name := "hooks-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env.T.Cleanup(func() { env.ExecSQL("DELETE FROM webhook_subscriptions WHERE created_by = $1", name) })
	return &fixture{Env: env, key: env.CreateInternalKey(name, webhooks.Scope, "events:read")}
}

// eventually waits, bounded (30 s), until cond holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// attempts is the subscription's delivery log, oldest attempt first.
func (f *fixture) attempts(sub int64) []api.WebhookAttempt {
	f.T.Helper()
	r := f.internal("GET", "/api/v1/internal/webhooks/subscriptions/"+itoa(sub)+"/deliveries?limit=100", nil)
	out := testkit.Decode[api.WebhookAttemptsResponse](f.T, r).Data
	slices.Reverse(out)
	return out
}

// internal calls the internal API with the fixture's key.
func (f *fixture) internal(method, path string, body any) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body, Headers: map[string]string{"X-Internal-Key": f.key}})
}

// subscribe creates a subscription of url to types and returns it with its secret.
func (f *fixture) subscribe(url string, types ...string) api.WebhookSubscriptionWithSecret {
	f.T.Helper()
	r := f.internal("POST", "/api/v1/internal/webhooks/subscriptions", map[string]any{"url": url, "event_types": types})
	if r.Status != 201 {
		f.T.Fatalf("subscribe %s: %d %s", url, r.Status, r.Body)
	}
	return testkit.DataOf[api.WebhookSubscriptionWithSecret](f.T, r)
}

// emit commits one event of subject (the kind of row a service writes in its own transaction)
// and returns its id.
func (f *fixture) emit(typ events.Type, subjectType, subjectID string) int64 {
	f.T.Helper()
	var id int64
	err := f.Store().Tx(context.Background(), func(q *db.Queries) error {
		if err := events.Record(context.Background(), q, f.Clock.Now(), events.Event{Type: typ, SubjectType: subjectType,
			SubjectID: subjectID, UserID: 0, Data: map[string]any{"test": true}}); err != nil {
			return err
		}
		tx, _ := pg.TxOf(q)
		return tx.QueryRow(context.Background(), "SELECT max(id) FROM events WHERE txid = pg_current_xact_id()::text::bigint").Scan(&id)
	})
	if err != nil {
		f.T.Fatalf("emit %s: %v", typ, err)
	}
	return id
}

// delivery is one request a receiver got.
type delivery struct {
	at      time.Time // the fixture's clock when it arrived
	header  http.Header
	body    []byte
	eventID string
}

// receiver is a real HTTP server on 127.0.0.1 that records what it receives and answers what
// its answer function says (200 by default).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(n int, d delivery) int
	clock  func() time.Time
	notify chan struct{}
}

func (f *fixture) receiver() *receiver {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.T.Fatal(err)
	}
	return f.receiverOn(l)
}

// receiverOn is a receiver serving on l.
func (f *fixture) receiverOn(l net.Listener) *receiver {
	r := &receiver{clock: f.Clock.Now, notify: make(chan struct{}, 1<<16)}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		d := delivery{at: r.clock(), header: req.Header.Clone(), body: b, eventID: req.Header.Get(webhooks.HeaderEventID)}
		r.mu.Lock()
		r.got = append(r.got, d)
		n := len(r.got)
		answer := r.answer
		r.mu.Unlock()
		status := 200
		if answer != nil {
			status = answer(n, d)
		}
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"received":%d}`, n)
		r.notify <- struct{}{}
	}))
	r.Listener.Close()
	r.Listener = l
	r.Start()
	f.T.Cleanup(r.Close)
	return r
}

// deliveries returns a copy of what arrived so far.
func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// waitFor waits until the receiver has had at least n requests (bounded: 30 s).
func (r *receiver) waitFor(t testing.TB, n int) []delivery {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := r.deliveries(); len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d", len(r.deliveries()), n)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TryQueryInt scans one integer; false when the query returns no row.
func (f *fixture) TryQueryInt(sql string, dest *int64, args ...any) bool {
	return f.QueryRow(sql, args...).Scan(dest) == nil
}
