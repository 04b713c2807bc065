package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/webhooks"
)

// BenchmarkWebhookDelivery measures webhook deliveries under the ledger benchmark's spread load
// (transfers between random funded wallets, through the service): a local receiver on 127.0.0.1
// subscribed to transfer.completed. Phases alternate, subscribed and not (the subscription's types
// become one the load never emits), after one unmeasured subscribed phase (warmDeliveries), so
// drift on a shared machine cancels out; reported: the transfer
// rate of each mode and their ratio, the delivery lag (a transfer's commit — its call returning —
// to the receiver getting its event) p50 and p99 over the subscribed phases, and the events
// delivered per second while the load runs. Every transfer of a subscribed phase must arrive.
// Tunables: LEDGER_BENCH_CLIENTS (16), WEBHOOK_BENCH_PHASE (5s), WEBHOOK_BENCH_ROUNDS (3),
// WEBHOOK_BENCH_WALLETS (2000), WEBHOOK_WORKERS (server default), WEBHOOK_BENCH_RATE (0: as fast
// as the clients go; N: at most N transfers per second in both modes, to measure the lag at a
// load the deliveries sustain).
func BenchmarkWebhookDelivery(b *testing.B) {
	clients := lbEnvInt("LEDGER_BENCH_CLIENTS", 16)
	phase := lbEnvDur("WEBHOOK_BENCH_PHASE", 5*time.Second)
	rounds := lbEnvInt("WEBHOOK_BENCH_ROUNDS", 3)
	nWallets := lbEnvInt("WEBHOOK_BENCH_WALLETS", 2000)
	rate := lbEnvInt("WEBHOOK_BENCH_RATE", 0)
	for i := 0; i < b.N; i++ {
		lb := lbSetup(b, clients, nWallets, func(c *config.Config) {
			c.WebhookAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
			c.WebhookWorkers = lbEnvInt("WEBHOOK_WORKERS", 0)
			c.JobsPollInterval = time.Second // production's default; the tests' 50 ms polls every queue 20 times a second
		})
		rcv := newLagReceiver()
		defer rcv.Close()
		lb.pace = paced(rate)
		var on, off []lbResult
		var lags []time.Duration
		var delivered int
		var deliveredFor time.Duration
		sub := lb.warmDeliveries(b, rcv, clients)
		for r := 0; r < rounds; r++ {
			stop := profilePhase(b, fmt.Sprintf("webhooks-off-%d", r))
			off = append(off, lb.measure(phase, clients, func(r *rand.Rand) (bool, error) {
				lb.pace()
				return lb.spreadOp(false)(r)
			}))
			stop()
			stop = profilePhase(b, fmt.Sprintf("webhooks-on-%d", r))
			res, l, n, err := lb.subscribedPhase(rcv, sub, phase, clients)
			stop()
			if err != nil {
				b.Fatal(err)
			}
			on, lags, delivered, deliveredFor = append(on, res), append(lags, l...), delivered+n, deliveredFor+phase
		}
		lb.invariants(b)
		rateOn, rateOff := meanRate(on), meanRate(off)
		p50, p99 := quantiles(lags)
		b.Logf("webhooks bench: %d clients (rate cap %d/s, 0: none), %d rounds of %s, %d wallets\n  transfers/s subscribed %.0f, not %.0f (ratio %.2f)\n  delivery lag commit→receiver p50 %s p99 %s over %d events\n  events delivered/s while loaded %.0f",
			clients, rate, rounds, phase, nWallets, rateOn, rateOff, rateOn/rateOff, p50.Round(time.Millisecond), p99.Round(time.Millisecond),
			len(lags), float64(delivered)/deliveredFor.Seconds())
		b.ReportMetric(rateOn/rateOff, "subscribed/unsubscribed")
		b.ReportMetric(float64(p50.Milliseconds()), "lag-p50-ms")
		b.ReportMetric(float64(p99.Milliseconds()), "lag-p99-ms")
		b.ReportMetric(float64(delivered)/deliveredFor.Seconds(), "delivered/s")
	}
}

// warmDeliveries runs one subscribed phase that is not measured, then ANALYZE. A fresh database's
// first deliveries run on plans made while the delivery tables were empty: the foreign-key checks
// of each new delivery and log row (PostgreSQL's cached plans, per connection) were sequential
// scans of tables growing through the phase, 926 of them reading 3.6 M rows in one 5 s phase. A
// running system replaces them at autovacuum's first ANALYZE of the tables, within a minute; the
// benchmark does it once up front, so each round measures the steady state.
func (lb *lbBench) warmDeliveries(b *testing.B, rcv *lagReceiver, clients int) int64 {
	sub, err := lb.webhooks().CreateWebhookSubscription(lb.internalAdmin(), api.CreateWebhookSubscriptionRequestObject{
		Body: &api.WebhookSubscriptionRequest{Url: rcv.URL, EventTypes: []string{unsubscribedType}}})
	if err != nil {
		b.Fatal(err)
	}
	id := sub.(api.CreateWebhookSubscription201JSONResponse).Data.Id
	if _, _, _, err := lb.subscribedPhase(rcv, id, 2*time.Second, clients); err != nil {
		b.Fatal(err)
	}
	if _, err := lb.env.DB().Exec(context.Background(), "ANALYZE webhook_deliveries, webhook_attempts, events"); err != nil {
		b.Fatal(err)
	}
	return id
}

// subscribedPhase subscribes the receiver's subscription id to transfer.completed, runs the
// spread load for d recording when each transfer committed, waits (bounded) until every one of
// them arrived, and unsubscribes it (unsubscribedType). It returns the load's result, each event's
// lag, and how many arrived during d.
func (lb *lbBench) subscribedPhase(rcv *lagReceiver, id int64, d time.Duration, clients int) (lbResult, []time.Duration, int, error) {
	if err := lb.subscribeTo(id, "transfer.completed"); err != nil {
		return lbResult{}, nil, 0, err
	}
	commits := sync.Map{} // transaction id → commit time
	rcv.reset()
	start := time.Now()
	res := lb.measure(d, clients, func(r *rand.Rand) (bool, error) {
		lb.pace()
		a, c := lb.pick(r)
		txID, err := lb.transferID(a, lb.names[c])
		if err == nil {
			commits.Store(txID, time.Now())
		}
		return err == nil, err
	})
	during := rcv.countBefore(start.Add(d))
	want := 0
	commits.Range(func(any, any) bool { want++; return true })
	deadline := time.Now().Add(2 * time.Minute)
	for rcv.count() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := rcv.arrivals()
	if len(got) < want {
		return res, nil, 0, fmt.Errorf("%d of %d transfers' events arrived", len(got), want)
	}
	var lags []time.Duration
	for tx, at := range got {
		if c, ok := commits.Load(tx); ok {
			lags = append(lags, at.Sub(c.(time.Time)))
		}
	}
	return res, lags, during, lb.subscribeTo(id, unsubscribedType)
}

// unsubscribedType is what the subscription takes between subscribed phases: a type the load
// never emits, so no delivery is made and the deliveries already made stay, as they do in a
// running system (deleting the subscription instead emptied the delivery tables every round).
const unsubscribedType = "user.closed"

// subscribeTo sets the event types of subscription id.
func (lb *lbBench) subscribeTo(id int64, types ...string) error {
	t := api.WebhookEventTypes(types)
	_, err := lb.webhooks().UpdateWebhookSubscription(lb.internalAdmin(), api.UpdateWebhookSubscriptionRequestObject{
		Id: id, Body: &api.WebhookSubscriptionUpdate{EventTypes: &t}})
	return err
}

// transferID makes one spread transfer through the service and returns its transaction id.
func (lb *lbBench) transferID(from int, to string) (int64, error) {
	key := lb.key()
	ctx := reqctx.With(context.Background(), &reqctx.Info{RequestID: key, Principal: &reqctx.Principal{UserID: lb.users[from], Locale: "en"}})
	r, err := lb.env.Ledger().CreateTransfer(ctx, api.CreateTransferRequestObject{
		Params: api.CreateTransferParams{IdempotencyKey: key},
		Body:   &api.TransferRequest{FromWalletId: lb.wallets[from], ToUsername: &to, Amount: 1, Currency: "EUR"}})
	if err != nil {
		return 0, err
	}
	ok, isOK := r.(api.CreateTransfer201JSONResponse)
	if !isOK {
		return 0, fmt.Errorf("%T", r)
	}
	return ok.Body.Data.Id, nil
}

func (lb *lbBench) internalAdmin() context.Context {
	return reqctx.With(context.Background(), &reqctx.Info{RequestID: "bench", InternalKey: &reqctx.InternalKey{ID: 1, Name: "bench", Scopes: []string{webhooks.Scope}}})
}

// webhooks is the server's webhook service (the API value composes it).
func (lb *lbBench) webhooks() *webhooks.Webhooks { return lb.env.Parts().Webhooks }

// lagReceiver records when each transfer's event arrived (by transaction id).
type lagReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got map[int64]time.Time
}

func newLagReceiver() *lagReceiver {
	r := &lagReceiver{got: map[int64]time.Time{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		b, _ := io.ReadAll(req.Body)
		var e struct {
			Data struct {
				TransactionID int64 `json:"transaction_id"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &e) == nil && e.Data.TransactionID > 0 {
			r.mu.Lock()
			if _, seen := r.got[e.Data.TransactionID]; !seen {
				r.got[e.Data.TransactionID] = at
			}
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

func (r *lagReceiver) reset() { r.mu.Lock(); r.got = map[int64]time.Time{}; r.mu.Unlock() }

func (r *lagReceiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

func (r *lagReceiver) countBefore(t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, at := range r.got {
		if at.Before(t) {
			n++
		}
	}
	return n
}

func (r *lagReceiver) arrivals() map[int64]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]time.Time, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

func meanRate(rs []lbResult) float64 {
	var n int64
	var d time.Duration
	for _, r := range rs {
		n, d = n+r.count, d+r.elapsed
	}
	return float64(n) / d.Seconds()
}

func quantiles(l []time.Duration) (time.Duration, time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2], l[len(l)*99/100]
}

// paced returns a wait that lets at most rate calls a second through (none when rate is 0).
func paced(rate int) func() {
	if rate <= 0 {
		return func() {}
	}
	tokens := make(chan struct{}, 1)
	go func() {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for range t.C {
			select {
			case tokens <- struct{}{}:
			default:
			}
		}
	}()
	return func() { <-tokens }
}
