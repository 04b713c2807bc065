package webhooks_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/testkit"
)

// The server process is SIGKILLed while deliveries are in flight and started again: every event
// reaches the receiver at least once — de-duplicated by Flowxi-Event-Id, none is missing —
// whether it was being sent (River's rescuer takes the dead process's jobs back), queued, or not
// yet fanned out when the process died.
func TestKillServerWhileDelivering(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	f := newFixture(t)
	f.StopWorkers() // only the server process delivers
	rcv := f.receiver()
	rcv.answer = func(int, delivery) int { time.Sleep(20 * time.Millisecond); return 200 }
	f.subscribe(rcv.URL, "*")
	cfg := f.Cfg
	cfg.JobsRescueAfter = 3 * time.Second
	extra := []string{"WEBHOOK_ALLOWED_NETWORKS=127.0.0.1/32", "WEBHOOK_TIMEOUT=1s", "WEBHOOK_WORKERS=4"}
	p := testkit.StartProcess(t, cfg, extra...)

	const total = 240
	want := map[string]bool{}
	for i := 0; i < total; i++ {
		want[itoa(f.emit(events.WalletStatusChanged, "wallet", "kill-"+strconv.Itoa(i%24)))] = true
	}
	rcv.waitFor(t, total/4)
	p.Kill()
	before := len(rcv.deliveries())
	t.Logf("%d of %d events received before the kill", before, total)
	if before >= total {
		t.Fatal("everything was delivered before the kill: the test proves nothing")
	}

	testkit.StartProcess(t, cfg, extra...)
	deadline := time.Now().Add(2 * time.Minute) // the rescuer's own period is 30 s
	for {
		seen := map[string]bool{}
		for _, d := range rcv.deliveries() {
			seen[d.eventID] = true
		}
		missing := 0
		for id := range want {
			if !seen[id] {
				missing++
			}
		}
		if missing == 0 {
			t.Logf("%d requests for %d events (duplicates: the attempts the kill interrupted)", len(rcv.deliveries()), total)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never delivered after the restart", missing, total)
		}
		select {
		case <-rcv.notify:
		case <-time.After(time.Second):
		}
	}
}
