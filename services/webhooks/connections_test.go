package webhooks_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/webhooks"
)

// An instance makes at most WEBHOOK_WORKERS exchanges at once, whatever jobs they belong to (a
// batch sends its chains at once), and keeps as many connections to a receiver open between
// them: deliveries of many subjects at once reuse the same few connections instead of closing
// the extra ones after each request and dialling them again.
func TestDeliveriesReuseTheirConnections(t *testing.T) {
	const workers, subjects = 3, 90
	f := newFixture(t, func(c *config.Config) { c.WebhookWorkers = workers })
	var conns, inFlight, most atomic.Int64
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(3 * time.Millisecond) // long enough for exchanges to overlap
		inFlight.Add(-1)
		mu.Lock()
		seen[r.Header.Get(webhooks.HeaderEventID)] = true
		mu.Unlock()
		w.WriteHeader(200)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	f.subscribe(srv.URL+"/hook", "*")
	for i := range subjects {
		f.emit(events.WalletStatusChanged, "wallet", "conn-"+strconv.Itoa(i))
	}
	eventually(t, "every event delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == subjects
	})
	if m := most.Load(); m > workers {
		t.Errorf("%d exchanges at once, want at most WEBHOOK_WORKERS = %d", m, workers)
	}
	if n := conns.Load(); n > workers {
		t.Errorf("%d connections opened for %d deliveries, want at most %d (one per exchange at once)", n, subjects, workers)
	}
}
