package ledger_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// The server process is SIGKILLed in the middle of a load of transfers, restarted, and every
// request is re-sent with its key: every transfer exists exactly once, every one acknowledged
// before the kill replays with the same transaction, and the balances are exactly what the
// requests imply.
func TestKillServerMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	f := newFixture(t)
	var p *testkit.Process

	const senders, perSender = 6, 25
	users, wallets := f.FundedUsers(senders, 1_000_000, "XOF")
	sink := f.CreateUser()
	sw := f.Wallet(sink, "XOF")

	type request struct {
		user   int
		key    string
		amount int64
	}
	var reqs []request
	for i := 0; i < senders; i++ {
		for j := 0; j < perSender; j++ {
			reqs = append(reqs, request{user: i, key: fmt.Sprintf("fault-%d-%d", i, j), amount: int64(1 + i*10 + j)})
		}
	}
	send := func(r request) (int, int64, string, error) {
		b, _ := json.Marshal(body(wallets[r.user], sink.Username, r.amount, "XOF"))
		req, _ := http.NewRequest("POST", p.URL+"/api/v1/transfers", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+users[r.user].Token)
		req.Header.Set("Idempotency-Key", r.key)
		res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			return 0, 0, "", err
		}
		defer res.Body.Close()
		var out struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out.Data.ID, res.Header.Get("Idempotent-Replayed"), nil
	}

	// Load, and SIGKILL once a third of the requests were acknowledged.
	p = testkit.StartProcess(t, f.Cfg)
	acked := make([]int64, len(reqs))
	var nAcked atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				st, id, _, err := send(reqs[i])
				if err == nil && st == 201 {
					acked[i] = id
					if nAcked.Add(1) == int64(len(reqs)/3) {
						once.Do(p.Kill)
					}
				}
			}
		}()
	}
	wg.Wait()
	once.Do(p.Kill)
	t.Logf("%d of %d transfers acknowledged before the kill", nAcked.Load(), len(reqs))

	// Restart and re-send everything with the same keys.
	p = testkit.StartProcess(t, f.Cfg)
	for i, r := range reqs {
		st, id, replayed, err := send(r)
		if err != nil || st != 201 {
			t.Fatalf("re-send %s: %d %v", r.key, st, err)
		}
		if acked[i] != 0 && (id != acked[i] || replayed != "true") {
			t.Fatalf("%s: acknowledged as %d before the kill, now %d (replayed %q)", r.key, acked[i], id, replayed)
		}
	}
	total := int64(0)
	for i := range users {
		want := int64(1_000_000)
		for _, r := range reqs {
			if r.user == i {
				want -= r.amount
				total += r.amount
			}
		}
		if got := f.Balance(wallets[i]); got != want {
			t.Errorf("sender %d: balance %d, want %d", i, got, want)
		}
	}
	if got := f.Balance(sw); got != total {
		t.Errorf("sink: %d, want %d", got, total)
	}
	if n := f.Count("SELECT count(*) FROM ledger_transactions WHERE to_account_id = $1", sw); n != len(reqs) {
		t.Errorf("%d transactions for %d requests", n, len(reqs))
	}
	f.invariants()
}
