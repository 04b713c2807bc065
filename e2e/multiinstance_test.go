package e2e_test

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// twoInstances starts two server processes on the same database and Redis prefix. env is an
// in-process instance on the same storage, used to create users directly.
func twoInstances(t *testing.T, adjust ...func(*config.Config)) (env *testkit.Env, a, b *testkit.Env) {
	env = testkit.New(t, adjust...)
	pa := testkit.StartProcess(t, env.Cfg)
	pb := testkit.StartProcess(t, env.Cfg)
	return env, pa.Client(t), pb.Client(t)
}

func totp(t *testing.T, secret string, at time.Time) string {
	out, err := exec.Command("oathtool", "--totp", "-b", "-N", "@"+strconv.FormatInt(at.Unix(), 10), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Rate limits live in Redis: attempts through one instance count on the other.
func TestRateLimitsAreSharedAcrossInstances(t *testing.T) {
	env, a, b := twoInstances(t)
	u := env.CreateUser()
	st := a.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	secret := ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).Secret)
	if st.Status != 200 || secret == "" {
		t.Fatalf("status: %d %s", st.Status, st.Body)
	}
	now := time.Now()
	var valid []string
	for s := -2; s <= 2; s++ {
		valid = append(valid, totp(t, secret, now.Add(time.Duration(s)*30*time.Second)))
	}
	wrong := testkit.WrongCode(valid...)
	limited := 0
	for i := 0; i < 8; i++ {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		r := inst.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": wrong}})
		switch {
		case r.Status == 403 && r.Code() == "INVALID_2FA_CODE":
		case r.Status == 429 && r.Code() == "RATE_LIMITED":
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	// 5 per minute per user+IP: the 6th, 7th and 8th attempts are refused whatever the instance.
	if limited != 3 {
		t.Fatalf("%d of 8 attempts limited, want 3 (limits not shared?)", limited)
	}
}

// The outbox is shared: with three workers (two processes and the in-process instance) racing
// over the same rows, every e-mail is delivered exactly once.
func TestOutboxIsSentOnceAcrossInstances(t *testing.T) {
	mb := testkit.NewMailbox(t)
	env, a, b := twoInstances(t, mb.Use)
	var emails []string
	for i := 0; i < 12; i++ {
		inst := a
		if i%2 == 1 {
			inst = b
		}
		email := fmt.Sprintf("multi-%d-%d@example.com", i, time.Now().UnixNano())
		r := inst.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}})
		if r.Status != 200 {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		emails = append(emails, email)
	}
	for _, e := range emails {
		mb.Next(e)
	}
	time.Sleep(2 * time.Second) // leave time for any duplicate to arrive
	for _, e := range emails {
		if n := len(mb.To(e)); n != 1 {
			t.Errorf("%s received %d messages", e, n)
		}
	}
	var pending int
	if err := env.QueryRow("SELECT count(*) FROM mail_outbox WHERE status <> 'sent'").Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d rows not sent", pending)
	}
}

// A login challenge created through one instance is verified through the other, and the same
// device logging in through both at once still ends with exactly one live token.
func TestLoginStateIsSharedAcrossInstances(t *testing.T) {
	env, a, b := twoInstances(t)
	u := env.CreateUser()
	login := func(inst *testkit.Env, device string) *testkit.Resp {
		return inst.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{
			"email": u.Email, "password": u.Password, "device_id": device, "device_type": "ios", "device_name": "iPhone"}})
	}
	const rounds = 2 // 5 logins per email+IP per minute: 4 here, 1 below
	results := make(chan *testkit.Resp, 2*rounds)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < rounds; i++ {
			results <- login(b, "shared-device")
		}
	}()
	for i := 0; i < rounds; i++ {
		results <- login(a, "shared-device")
	}
	<-done
	close(results)
	for r := range results {
		if r.Status != 200 || r.Code() != "LOGIN_SUCCESS" {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
	}
	var live int
	if err := env.QueryRow("SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = 'shared-device' AND revoked_at IS NULL", u.ID).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 1 {
		t.Fatalf("%d live tokens for one device across two instances", live)
	}

	// Enable 2FA through A, then log in through A and verify the challenge through B.
	st := a.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	secret := ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).Secret)
	en := a.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": totp(t, secret, time.Now())}})
	if en.Status != 200 {
		t.Fatalf("enable: %d %s", en.Status, en.Body)
	}
	ch := login(a, "second-device")
	if ch.Code() != "MFA_REQUIRED" {
		t.Fatalf("login of a 2FA user: %d %s", ch.Status, ch.Body)
	}
	id := testkit.DataOf[api.LoginChallengeData](t, ch).ChallengeId.String()
	// The step used at enable cannot be replayed: wait for the next one.
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(30*time.Second + 200*time.Millisecond)))
	v := b.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/verify-login", JSON: map[string]any{"challenge_id": id, "code": totp(t, secret, time.Now())}})
	if v.Status != 200 || v.Code() != "LOGIN_SUCCESS" {
		t.Fatalf("verify-login through the other instance: %d %s", v.Status, v.Body)
	}
}
