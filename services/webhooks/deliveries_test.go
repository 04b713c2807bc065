package webhooks_test

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/webhooks"
	"github.com/flowxi/backend/testkit"
)

// verify checks a delivery's signature with secret at the fixture's clock, and that its event id
// header names the body's event.
func (f *fixture) verify(t *testing.T, d delivery, secret string) error {
	t.Helper()
	var body struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil || strconv.FormatInt(body.ID, 10) != d.eventID {
		t.Fatalf("body %s under %s %q", d.body, webhooks.HeaderEventID, d.eventID)
	}
	return webhooks.Verify(secret, d.header.Get(webhooks.HeaderSignature), d.body, f.Clock.Now())
}

// Events of one subject reach the subscription one at a time in commit order, while other
// subjects go on: a receiver refusing the first event of subject A gets B's event meanwhile and
// A's later events only once A's first was delivered. Every request is signed and carries the
// event's id.
func TestOrderPerSubjectConcurrentAcross(t *testing.T) {
	f := newFixture(t)
	rcv := f.receiver()
	sub := f.subscribe(rcv.URL+"/hook", "*")
	var refused atomic.Bool // the receiver answers concurrent requests
	rcv.answer = func(n int, d delivery) int {
		if strings.Contains(string(d.body), `"order-A"`) && refused.CompareAndSwap(false, true) {
			return 500
		}
		return 200
	}
	a1 := f.emit(events.WalletStatusChanged, "wallet", "order-A")
	a2 := f.emit(events.WalletStatusChanged, "wallet", "order-A")
	a3 := f.emit(events.WalletStatusChanged, "wallet", "order-A")
	b1 := f.emit(events.WalletStatusChanged, "wallet", "order-B")
	got := rcv.waitFor(t, 2)
	if first := []string{got[0].eventID, got[1].eventID}; !slices.Contains(first, itoa(a1)) || !slices.Contains(first, itoa(b1)) {
		t.Fatalf("first requests: %v, want %d (refused) and %d, in any order", first, a1, b1)
	}
	eventually(t, "a1's retry scheduled", func() bool {
		for _, a := range f.attempts(sub.Id) {
			if a.EventId == a1 && a.NextAttemptAt != nil {
				return true
			}
		}
		return false
	})
	if n := len(rcv.deliveries()); n != 2 {
		t.Fatalf("%d requests while subject A's first event waits for its retry", n)
	}
	f.Clock.Advance(time.Minute)
	got = rcv.waitFor(t, 5)
	var order []string
	for _, d := range got[2:] {
		order = append(order, d.eventID)
	}
	if strings.Join(order, ",") != strings.Join([]string{itoa(a1), itoa(a2), itoa(a3)}, ",") {
		t.Fatalf("subject A after the retry: %v, want %d,%d,%d", order, a1, a2, a3)
	}
	for i, d := range got {
		if err := f.verify(t, d, sub.Secret); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if want := "1"; i == 2 {
			want = "2"
			if d.header.Get(webhooks.HeaderAttempt) != want {
				t.Errorf("retry of a1: attempt header %q", d.header.Get(webhooks.HeaderAttempt))
			}
		}
	}
}

// A receiver answering 500 four times and then 200: each retry comes no earlier than the time
// recorded for it, the waits grow (5 s doubling, ±20 % jitter), and the delivery log shows every
// attempt with its status, latency and answer.
func TestRetriesWithGrowingDelays(t *testing.T) {
	f := newFixture(t)
	rcv := f.receiver()
	rcv.answer = func(n int, d delivery) int {
		if n <= 4 {
			return 500
		}
		return 200
	}
	sub := f.subscribe(rcv.URL, "deposit.posted")
	f.emit(events.DepositPosted, "deposit", "retry-1")
	var waits []time.Duration
	var nexts []time.Time
	for n := 1; n <= 4; n++ {
		rcv.waitFor(t, n)
		var last api.WebhookAttempt
		eventually(t, "attempt "+itoa(int64(n))+" recorded", func() bool {
			log := f.attempts(sub.Id)
			if len(log) < n {
				return false
			}
			last = log[n-1]
			return last.NextAttemptAt != nil || last.DeliveryStatus != "pending"
		})
		if last.Outcome != "http_error" || !testkit.Is(last.HttpStatus, 500) || last.NextAttemptAt == nil {
			t.Fatalf("attempt %d: %+v", n, last)
		}
		at, next := parse(t, last.AttemptedAt), parse(t, *last.NextAttemptAt)
		waits, nexts = append(waits, next.Sub(at)), append(nexts, next)
		if d := next.Sub(f.Clock.Now()); d > 0 {
			f.Clock.Advance(d + time.Millisecond)
		}
	}
	got := rcv.waitFor(t, 5)
	log := f.attempts(sub.Id)
	eventually(t, "the last attempt recorded", func() bool { log = f.attempts(sub.Id); return len(log) == 5 })
	for i := 1; i < 5; i++ {
		if parse(t, log[i].AttemptedAt).Before(nexts[i-1]) {
			t.Errorf("attempt %d at %s, before its retry time %s", i+1, log[i].AttemptedAt, nexts[i-1])
		}
		if got[i].header.Get(webhooks.HeaderAttempt) != itoa(int64(i+1)) {
			t.Errorf("request %d: attempt header %q", i+1, got[i].header.Get(webhooks.HeaderAttempt))
		}
	}
	for i, w := range waits {
		base := 5 * time.Second << i
		if w < base*8/10 || w > base*12/10 || (i > 0 && w <= waits[i-1]) {
			t.Errorf("wait after attempt %d: %s (waits %v)", i+1, w, waits)
		}
	}
	final := log[4]
	if final.Outcome != "delivered" || final.DeliveryStatus != "delivered" || !testkit.Is(final.ResponseExcerpt, `{"received":5}`) ||
		final.NextAttemptAt != nil || final.Attempt != 5 {
		t.Fatalf("final attempt %+v", final)
	}
}

func parse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02T15:04:05.000000Z", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A subscription that keeps failing is disabled once it has failed for WEBHOOK_DISABLE_AFTER:
// its audit row (by the system), its event webhook.subscription.disabled (in the feed, valid
// against its schema), the metric; its deliveries are held, then sent in order on resume.
func TestDisabledAfterContinuousFailure(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.WebhookDisableAfter = time.Hour })
	rcv := f.receiver()
	var failing atomic.Bool // read by the receiver's handler, written by the test
	failing.Store(true)
	rcv.answer = func(int, delivery) int {
		if failing.Load() {
			return 503
		}
		return 204
	}
	sub := f.subscribe(rcv.URL, "deposit.posted")
	before := disabledMetric(t, f)
	e1 := f.emit(events.DepositPosted, "deposit", "disable-1")
	rcv.waitFor(t, 1)
	eventually(t, "the first failure recorded", func() bool { return len(f.attempts(sub.Id)) == 1 })
	f.Clock.Advance(2 * time.Hour)
	rcv.waitFor(t, 2)
	var got api.WebhookSubscription
	eventually(t, "the subscription disabled", func() bool {
		got = testkit.DataOf[api.WebhookSubscription](t, f.internal("GET", subs+"/"+itoa(sub.Id), nil))
		return got.Status == "disabled"
	})
	if got.DisabledAt == nil || got.FailingSince == nil {
		t.Fatalf("disabled subscription %+v", got)
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE action = 'webhook.subscription.disabled' AND subject_id = $1 AND actor_type = 'system'", itoa(sub.Id)); n != 1 {
		t.Errorf("%d audit rows", n)
	}
	found := 0
	eventually(t, "the event in the feed", func() bool {
		feed := testkit.Decode[struct {
			Data []json.RawMessage `json:"data"`
		}](t, f.internal("GET", "/api/v1/internal/events?types=webhook.subscription.disabled", nil))
		found = 0
		for _, raw := range feed.Data {
			var e struct {
				Subject struct{ ID string } `json:"subject"`
			}
			_ = json.Unmarshal(raw, &e)
			if e.Subject.ID == itoa(sub.Id) {
				found++
			}
		}
		return found > 0
	})
	if found != 1 {
		t.Errorf("%d webhook.subscription.disabled events for the subscription", found)
	}
	if after := disabledMetric(t, f); after != before+1 {
		t.Errorf("flowxi_webhook_subscriptions_disabled_total went from %v to %v", before, after)
	}

	e2 := f.emit(events.DepositPosted, "deposit", "disable-1") // the same subject: after e1
	eventually(t, "the new event held", func() bool {
		return f.Count("SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1 AND event_id = $2 AND status = 'held'", sub.Id, e2) == 1
	})
	failing.Store(false)
	if r := f.internal("POST", subs+"/"+itoa(sub.Id)+"/resume", nil); r.Status != 200 {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	all := rcv.waitFor(t, 4)
	if all[2].eventID != itoa(e1) || all[3].eventID != itoa(e2) {
		t.Fatalf("after resume: %s, %s; want %d then %d", all[2].eventID, all[3].eventID, e1, e2)
	}
}

// disabledMetric reads flowxi_webhook_subscriptions_disabled_total on the operations listener.
func disabledMetric(t *testing.T, f *fixture) float64 {
	t.Helper()
	v, ok := f.Metrics(t)["flowxi_webhook_subscriptions_disabled_total"]
	if !ok {
		t.Fatal("/metrics has no flowxi_webhook_subscriptions_disabled_total")
	}
	return v
}

// A receiver that is down for a while (connection refused) and comes back on the same address
// loses nothing: every event arrives, each subject's in order.
func TestReceiverDownThenBack(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sub := f.subscribe("http://"+addr+"/hook", "*")
	want := map[string][]string{}
	for i := 0; i < 12; i++ {
		s := "down-" + itoa(int64(i%4))
		want[s] = append(want[s], itoa(f.emit(events.WalletStatusChanged, "wallet", s)))
	}
	eventually(t, "every subject's first delivery refused", func() bool {
		return f.Count("SELECT count(DISTINCT delivery_id) FROM webhook_attempts WHERE subscription_id = $1 AND outcome = 'connection_error'", sub.Id) >= 4
	})
	if n := f.Count("SELECT count(*) FROM webhook_attempts WHERE subscription_id = $1 AND outcome <> 'connection_error'", sub.Id); n != 0 {
		t.Fatalf("%d attempts reached something while the receiver was down", n)
	}
	back, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the receiver's port was taken meanwhile: %v", err)
	}
	rcv := f.receiverOn(back)
	f.Clock.Advance(10 * time.Minute)
	got := rcv.waitFor(t, 12)
	seen := map[string][]string{}
	for _, d := range got {
		var e struct {
			Subject struct{ ID string } `json:"subject"`
		}
		_ = json.Unmarshal(d.body, &e)
		seen[e.Subject.ID] = append(seen[e.Subject.ID], d.eventID)
	}
	for s, ids := range want {
		if strings.Join(seen[s], ",") != strings.Join(ids, ",") {
			t.Errorf("subject %s: %v, want %v", s, seen[s], ids)
		}
	}
}

// A name that resolved to an allowed address when the subscription was made and to a loopback
// one when the delivery is sent (DNS rebinding; here the stored URL is re-pointed at localhost,
// which is what a rebinding achieves) is refused at the dial, with the allow-list off: the
// receiver on 127.0.0.1 gets nothing and the log says address_refused.
func TestDialTimeCheckWithAllowListOff(t *testing.T) {
	f := keyed(testkit.New(t))
	rcv := f.receiver()
	sub := f.subscribe("https://hooks.internal.example/flowxi", "deposit.posted")
	port := rcv.URL[strings.LastIndex(rcv.URL, ":")+1:]
	f.ExecSQL("UPDATE webhook_subscriptions SET url = $1 WHERE id = $2", "http://localhost:"+port+"/hook", sub.Id)
	f.emit(events.DepositPosted, "deposit", "rebind-1")
	var log []api.WebhookAttempt
	eventually(t, "the attempt recorded", func() bool { log = f.attempts(sub.Id); return len(log) > 0 })
	if log[0].Outcome != "address_refused" || log[0].HttpStatus != nil {
		t.Fatalf("attempt %+v", log[0])
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
}

// A retained event is delivered again on request, alone or with its time range, with the same
// event id; an unknown event is 404 and a request naming both or neither is 422.
func TestRedeliver(t *testing.T) {
	f := newFixture(t)
	rcv := f.receiver()
	sub := f.subscribe(rcv.URL, "deposit.posted")
	from := f.Clock.Now()
	e1 := f.emit(events.DepositPosted, "deposit", "again-1")
	e2 := f.emit(events.DepositPosted, "deposit", "again-2")
	f.emit(events.HoldCreated, "hold", "again-3") // not of the subscription's types
	rcv.waitFor(t, 2)
	path := subs + "/" + itoa(sub.Id) + "/redeliver"
	r := f.internal("POST", path, map[string]any{"event_id": e1})
	if r.Status != 202 || r.Code() != "WEBHOOK_REDELIVERY_QUEUED" {
		t.Fatalf("redeliver one: %d %s", r.Status, r.Body)
	}
	if got := rcv.waitFor(t, 3); got[2].eventID != itoa(e1) {
		t.Fatalf("redelivered %s, want %d", got[2].eventID, e1)
	}
	to := f.Clock.Now().Add(time.Second)
	r = f.internal("POST", path, map[string]any{"from": from.Format("2006-01-02T15:04:05.000000Z"), "to": to.Format("2006-01-02T15:04:05.000000Z")})
	if q := testkit.DataOf[struct{ Queued int }](t, r).Queued; r.Status != 202 || q != 2 {
		t.Fatalf("redeliver range: %d %s", r.Status, r.Body)
	}
	got := rcv.waitFor(t, 5)
	ids := []string{got[3].eventID, got[4].eventID}
	if !slices.Contains(ids, itoa(e1)) || !slices.Contains(ids, itoa(e2)) {
		t.Fatalf("range redelivered %v", ids)
	}
	for body, want := range map[string]int{`{"event_id": 999999999}`: 404, `{"event_id": 1, "from": "2026-01-09T00:00:00.000000Z"}`: 422, `{}`: 422} {
		var b map[string]any
		_ = json.Unmarshal([]byte(body), &b)
		if r := f.internal("POST", path, b); r.Status != want {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	var log []api.WebhookAttempt
	eventually(t, "every attempt recorded", func() bool { log = f.attempts(sub.Id); return len(log) >= 5 })
	if len(log) != 5 || log[1].Redelivery || !log[2].Redelivery {
		t.Fatalf("log after redeliveries: %+v", log)
	}
}

// After a rotation, deliveries carry one signature per secret while the overlap lasts (either
// secret verifies), then only the new one's.
func TestRotationOverlap(t *testing.T) {
	f := newFixture(t)
	rcv := f.receiver()
	sub := f.subscribe(rcv.URL, "deposit.posted")
	r := f.internal("POST", subs+"/"+itoa(sub.Id)+"/rotate-secret", map[string]any{"overlap_seconds": 3600})
	rotated := testkit.DataOf[api.WebhookSubscriptionWithSecret](t, r)
	f.emit(events.DepositPosted, "deposit", "rotate-1")
	d := rcv.waitFor(t, 1)[0]
	if n := strings.Count(d.header.Get(webhooks.HeaderSignature), "v1="); n != 2 {
		t.Fatalf("during the overlap: %q", d.header.Get(webhooks.HeaderSignature))
	}
	for _, secret := range []string{sub.Secret, rotated.Secret} {
		if err := f.verify(t, d, secret); err != nil {
			t.Errorf("during the overlap: %v", err)
		}
	}
	f.Clock.Advance(2 * time.Hour)
	f.emit(events.DepositPosted, "deposit", "rotate-2")
	d = rcv.waitFor(t, 2)[1]
	if err := f.verify(t, d, rotated.Secret); err != nil {
		t.Errorf("after the overlap, new secret: %v", err)
	}
	if err := f.verify(t, d, sub.Secret); err == nil {
		t.Error("after the overlap the old secret still verifies")
	}
}

// A real deposit's delivery carries the event exactly as the feed shows it.
func TestBodyIsTheFeedEvent(t *testing.T) {
	f := newFixture(t)
	m := testkit.NewMoney(f.Env, "ledger:deposit")
	rcv := f.receiver()
	f.subscribe(rcv.URL, "deposit.posted")
	u := f.CreateUser()
	m.Deposit(m.Wallet(u, "EUR"), 1500, "EUR")
	d := rcv.waitFor(t, 1)[0]
	var seq int64
	eventually(t, "the event in the feed", func() bool {
		return f.TryQueryInt("SELECT seq FROM event_feed WHERE event_id = $1", &seq, d.eventID)
	})
	// The page holding just this event (other tests of the package planted events whose
	// payloads are not of their type's schema).
	feed := testkit.Decode[struct {
		Data []json.RawMessage `json:"data"`
	}](t, f.internal("GET", "/api/v1/internal/events?limit=1&after="+itoa(seq-1), nil))
	if len(feed.Data) != 1 || string(feed.Data[0]) != string(d.body) {
		t.Fatalf("feed %s\nbody %s", feed.Data, d.body)
	}
}

// A delivery left waiting with nothing ahead (the one ahead finished, then its process died
// before waking it) is woken by the fan-out's sweep and sent.
func TestSweepWakesAStrandedDelivery(t *testing.T) {
	f := newFixture(t)
	rcv := f.receiver()
	sub := f.subscribe(rcv.URL, "deposit.posted")
	f.emit(events.DepositPosted, "deposit", "stranded")
	e2 := f.emit(events.DepositPosted, "deposit", "stranded")
	rcv.waitFor(t, 2)
	eventually(t, "both delivered", func() bool {
		return f.Count("SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'delivered'", sub.Id) == 2
	})
	f.ExecSQL("UPDATE webhook_deliveries SET status = 'waiting' WHERE subscription_id = $1 AND event_id = $2", sub.Id, e2)
	if err := f.Parts().Webhooks.WakeStuck(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rcv.waitFor(t, 3); got[2].eventID != itoa(e2) {
		t.Fatalf("swept %s, want %d", got[2].eventID, e2)
	}
}
