package identity_test

import (
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// Concurrent requests of many tokens share their last_used_at statement (tokens.toucher); each
// token's use is committed before its request is answered, and a token used within the minute is
// not written again.
func TestConcurrentTouchesAllCommitted(t *testing.T) {
	env := testkit.New(t)
	const n = 24
	users := make([]testkit.User, n)
	for i := range users {
		users[i] = env.CreateUser()
	}
	env.Clock.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	statuses := make([]int, n)
	answered := make([]time.Time, n)
	for round := 0; round < 3; round++ { // rounds 2 and 3 are within the minute: no new write
		for i := range users {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = devices(env, users[i].Token).Status
				answered[i] = env.Clock.Now()
			}(i)
		}
		wg.Wait()
		for i, u := range users {
			if statuses[i] != 200 {
				t.Fatalf("round %d, user %d: %d", round, i, statuses[i])
			}
			var last time.Time
			if err := env.QueryRow("SELECT last_used_at FROM access_tokens WHERE id = $1", u.TokenID).Scan(&last); err != nil {
				t.Fatal(err)
			}
			// Written by the first round (after the clock moved), then left alone.
			age := answered[i].Sub(last)
			if age < 0 || age > time.Minute || (round > 0 && age < 10*time.Second) {
				t.Fatalf("round %d, user %d: last_used_at %s, answered at %s", round, i, last, answered[i])
			}
		}
		if round == 0 {
			env.Clock.Advance(10 * time.Second)
		}
	}
}
