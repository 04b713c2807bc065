package identity_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// concurrentLogins runs n simultaneous logins of u, device(i) naming each one's device, and
// returns the tokens (all logins must succeed).
func concurrentLogins(t *testing.T, env *testkit.Env, u testkit.User, n int, device func(i int) string) []string {
	t.Helper()
	toks := make([]string, n)
	resps := make([]*testkit.Resp, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			resps[i] = env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(u.Email, u.Password, device(i))})
		}(i)
	}
	close(start)
	wg.Wait()
	for i, r := range resps {
		if r == nil || r.Status != 200 {
			t.Fatalf("login %d failed", i)
		}
		if toks[i] = testkit.DataOf[api.LoginTokenData](t, r).AccessToken; toks[i] == "" {
			t.Fatalf("login %d failed", i)
		}
	}
	return toks
}

// raisedLimits lifts the per-address limits and the account budget (which counts logins in
// flight), so 50 simultaneous logins of one account all proceed.
func raisedLimits(c *config.Config) {
	c.LoginRatePerEmailIP, c.LoginRatePerIP, c.AccountGuessLimit = 1000, 1000, 1000
}

func TestConcurrentLoginsSameDeviceLeaveOneToken(t *testing.T) {
	env := testkit.New(t, raisedLimits)
	u := env.CreateUser(testkit.WithoutToken())
	toks := concurrentLogins(t, env, u, 50, func(int) string { return "shared-device" })

	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1`, u.ID); n != 50 {
		t.Fatalf("%d token rows, want 50 (49 revoked + 1 live)", n)
	}
	live := env.Count(`SELECT id FROM access_tokens WHERE user_id = $1 AND device_id = 'shared-device' AND revoked_at IS NULL`, u.ID)
	valid := 0
	for _, tok := range toks {
		r := devices(env, tok)
		switch r.Status {
		case 200:
			valid++
			if !strings.HasPrefix(tok, strconv.Itoa(live)+"|") {
				t.Fatalf("accepted token %s is not the live row %d", tok[:strings.IndexByte(tok, '|')], live)
			}
		case 401:
			if r.Code() != "UNAUTHENTICATED" {
				t.Fatalf("refused with %s", r.Body)
			}
		default:
			t.Fatalf("unexpected %d %s", r.Status, r.Body)
		}
	}
	if valid != 1 {
		t.Fatalf("%d valid tokens, want exactly 1", valid)
	}
	if n := env.Count(`SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'new_device'`, u.Email); n != 1 {
		t.Fatalf("%d new-device e-mails, want 1", n)
	}
}

func TestConcurrentLoginsDifferentDevices(t *testing.T) {
	env := testkit.New(t, raisedLimits)
	u := env.CreateUser(testkit.WithoutToken())
	toks := concurrentLogins(t, env, u, 50, func(i int) string { return "device-" + strconv.Itoa(i) })
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL`, u.ID); n != 50 {
		t.Fatalf("%d live tokens, want 50", n)
	}
	for i, tok := range toks {
		if r := devices(env, tok); r.Status != 200 {
			t.Fatalf("token %d refused: %d", i, r.Status)
		}
	}
	r := devices(env, toks[0])
	if list := testkit.Decode[api.DevicesResponse](t, r).Data; len(list) != 50 {
		t.Fatalf("%d devices listed", len(list))
	}
	if n := env.Count(`SELECT count(*) FROM mail_outbox WHERE to_address = $1 AND template = 'new_device'`, u.Email); n != 50 {
		t.Fatalf("%d new-device e-mails, want 50", n)
	}
}
