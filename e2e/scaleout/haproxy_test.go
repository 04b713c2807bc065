package scaleout_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

// spoofed is an X-Forwarded-For a client sends itself: never to be taken as its address.
const spoofed = "203.0.113.9"

// Three `flowxi serve` processes behind Debian's HAProxy, round-robin. The identity flows go
// through the balancer with each step on another instance (2FA enrolled on one, login on
// another, verify-login on a third); transfers from every instance land on one hot account,
// exactly; and the client address is the one the balancer saw — X-Forwarded-For honoured only
// because TRUSTED_PROXIES names the balancer, a client's own header never.
func TestInstancesBehindHAProxy(t *testing.T) {
	env := testkit.New(t)
	trust := "TRUSTED_PROXIES=" + testkit.BalancerSource + "/32"
	var backends []string
	var direct *testkit.Env
	for i := 0; i < 3; i++ {
		p := testkit.StartProcess(t, env.Cfg, trust)
		backends = append(backends, p.URL)
		direct = p.Client(t)
	}
	lb := &testkit.Env{T: t, URL: testkit.StartHAProxy(t, backends...)}

	u := env.CreateUser(testkit.WithDevice("phone-1"))
	recovery := enrollAt(t, lb, u)
	ch := lb.Do(spoof(loginReq(u, u.Password)))
	if ch.Status != 200 || ch.Code() != "MFA_REQUIRED" {
		t.Fatalf("login through the balancer: %d %s", ch.Status, ch.Body)
	}
	v := lb.Do(spoof(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/verify-login",
		JSON: map[string]any{"challenge_id": ch.Data()["challenge_id"], "code": recovery}}))
	if v.Status != 200 || v.Header.Get("X-Served-By") == ch.Header.Get("X-Served-By") {
		t.Fatalf("verify-login on another instance (login on %s, verify on %s): %d %s",
			ch.Header.Get("X-Served-By"), v.Header.Get("X-Served-By"), v.Status, v.Body)
	}
	token := testkit.DataOf[api.TokenData](t, v).AccessToken
	if ip := deviceIP(t, lb, token); ip != "127.0.0.1" {
		t.Errorf("device IP through the trusted balancer: %q, want the client's 127.0.0.1 (not the balancer's, not %s)", ip, spoofed)
	}
	// Straight to an instance, the client is not the balancer: its header is ignored.
	d := env.CreateUser(testkit.WithDevice("laptop-1"))
	r := direct.Do(spoof(loginReq(d, d.Password)))
	if ip := deviceIP(t, direct, testkit.DataOf[api.LoginTokenData](t, r).AccessToken); ip != "127.0.0.1" {
		t.Errorf("device IP of a direct request with a forged X-Forwarded-For: %q, want 127.0.0.1", ip)
	}
	hotTransfers(t, env, lb, 3)
}

// Behind a balancer that TRUSTED_PROXIES does not name, the balancer is the client: its
// X-Forwarded-For (and the one a client forged) is not honoured.
func TestUntrustedBalancerIsTheClient(t *testing.T) {
	env := testkit.New(t)
	lb := &testkit.Env{T: t, URL: testkit.StartHAProxy(t, testkit.StartProcess(t, env.Cfg).URL)}
	u := env.CreateUser(testkit.WithDevice("phone-2"))
	r := lb.Do(spoof(loginReq(u, u.Password)))
	if ip := deviceIP(t, lb, testkit.DataOf[api.LoginTokenData](t, r).AccessToken); ip != testkit.BalancerSource {
		t.Errorf("device IP behind an untrusted balancer: %q, want the balancer's %s", ip, testkit.BalancerSource)
	}
}

func spoof(r testkit.Req) testkit.Req { return from(spoofed, r) }

// enrollAt turns 2FA on for u through c (the real clock of the processes) and returns a
// recovery code (a TOTP code of the enable step could not be used again in the same step).
func enrollAt(t *testing.T, c *testkit.Env, u testkit.User) string {
	t.Helper()
	st := c.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	uri, err := url.Parse(ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).OtpauthUri))
	if err != nil || st.Status != 200 {
		t.Fatalf("2fa status: %d %v", st.Status, err)
	}
	code, err := totp.GenerateCode(uri.Query().Get("secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := c.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": code}})
	if r.Status != 200 {
		t.Fatalf("2fa enable: %d %s", r.Status, r.Body)
	}
	return testkit.Decode[api.TwofaEnabledResponse](t, r).RecoveryCodes[0]
}

// deviceIP is the client address the server recorded for the token's device.
func deviceIP(t *testing.T, c *testkit.Env, token string) string {
	t.Helper()
	r := c.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/devices", Token: token})
	for _, d := range testkit.DataOf[[]api.Device](t, r) {
		if d.Current {
			return ptr.Value(d.Ip)
		}
	}
	t.Fatalf("no current device: %d %s", r.Status, r.Body)
	return ""
}

// hotTransfers sends transfers from several users at once through the balancer onto one hot
// account: every instance serves some, and the balances are exact.
func hotTransfers(t *testing.T, env *testkit.Env, lb *testkit.Env, instances int) {
	t.Helper()
	m := testkit.NewMoney(env, testkit.LedgerScopes...)
	hot := env.CreateUser()
	hw := m.Wallet(hot, "EUR")
	const senders, each = 4, 15
	served := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		u := env.CreateUser()
		w := m.Wallet(u, "EUR")
		m.Deposit(w, 10_000, "EUR")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := lb.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Token: u.Token,
					Headers: map[string]string{"Idempotency-Key": fmt.Sprintf("hot-%d-%d", s, i)},
					JSON:    map[string]any{"from_wallet_id": w, "to_username": hot.Username, "amount": 7, "currency": "EUR"}})
				mu.Lock()
				served[fmt.Sprintf("%d %s", r.Status, r.Header.Get("X-Served-By"))]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(served) != instances {
		t.Errorf("answers by status and instance: %v, want 201 from each of %d instances", served, instances)
	}
	if b := env.Balance(hw); b != senders*each*7 {
		t.Errorf("hot account: %d, want %d", b, senders*each*7)
	}
	env.Invariants()
}
