package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/testkit"
)

// The keys of these tests: testkit's single keys (the one-key rings v1) and the new ones.
var (
	encV1  = strings.Repeat("11", 32)
	macV1  = strings.Repeat("22", 32)
	encV2  = "5e1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
	macV2  = "0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a"
	header = func(v byte) []byte { return []byte{0, 'f', 'k', 0, v} }
)

// encRing and macRing set a configuration's rings (the single-key variables emptied).
func encRing(spec string) func(*config.Config) {
	return func(c *config.Config) { c.EncryptionKey, c.EncryptionKeys = "", spec }
}

func macRing(spec string) func(*config.Config) {
	return func(c *config.Config) { c.HMACKey, c.HMACKeys = "", spec }
}

// busyLogins lets a test log in often: trusted forwarding from loopback (one client address
// per attempt) and login limits out of the way.
func busyLogins(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	c.LoginRatePerEmailIP, c.LoginRatePerIP = 100000, 100000
}

// login2FA logs u in on env with a password and then code, from its own client address; it
// returns "" or what went wrong.
func login2FA(env *testkit.Env, u testkit.User, ip, code string) string {
	h := map[string]string{"X-Forwarded-For": ip, "User-Agent": "FlowxiApp/1.0", "X-App-Locale": "en"}
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Headers: h, JSON: map[string]any{
		"email": u.Email, "password": u.Password, "device_id": "rot-" + u.DeviceID, "device_type": "ios", "device_name": "iPhone"}})
	if r.Status != 200 || r.Code() != "MFA_REQUIRED" {
		return fmt.Sprintf("login: %d %s", r.Status, r.Body)
	}
	id, _ := r.Data()["challenge_id"].(string)
	v := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/verify-login", Headers: h, JSON: map[string]any{"challenge_id": id, "code": code}})
	if v.Status != 200 || v.Code() != "LOGIN_SUCCESS" {
		return fmt.Sprintf("verify-login: %d %s", v.Status, v.Body)
	}
	return ""
}

// traffic is users logging in with TOTP in a loop, each request on one of the instances
// currently serving; the fake clock moves one TOTP step at a time so that codes never repeat.
type traffic struct {
	t        *testing.T
	serving  atomic.Pointer[[]*testkit.Env]
	ok, fail atomic.Int64
	mu       sync.Mutex
	failures []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startTraffic(t *testing.T, clock interface{ Advance(time.Duration) }, now func() time.Time, users []testkit.User, secrets []string, on ...*testkit.Env) *traffic {
	tr := &traffic{t: t, stop: make(chan struct{})}
	tr.serve(on...)
	tr.wg.Add(1)
	go func() { // one TOTP step per tick
		defer tr.wg.Done()
		for {
			select {
			case <-tr.stop:
				return
			case <-time.After(400 * time.Millisecond):
				clock.Advance(30 * time.Second)
			}
		}
	}()
	for g := range users {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			last := int64(0)
			for i := 0; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				at := now()
				step := at.Unix() / 30
				if step <= last {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				envs := *tr.serving.Load()
				env := envs[i%len(envs)]
				code := testkit.TOTP(t, secrets[g], at)
				if msg := login2FA(env, users[g], fmt.Sprintf("10.9.%d.%d", g, i%250), code); msg != "" {
					tr.fail.Add(1)
					tr.mu.Lock()
					tr.failures = append(tr.failures, msg)
					tr.mu.Unlock()
				} else {
					tr.ok.Add(1)
				}
				last = step
			}
		}()
	}
	return tr
}

// serve switches the traffic to these instances.
func (tr *traffic) serve(on ...*testkit.Env) { tr.serving.Store(&on) }

// await lets the traffic run until n more logins succeeded.
func (tr *traffic) await(n int64) {
	tr.t.Helper()
	want := tr.ok.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for tr.ok.Load() < want && tr.fail.Load() == 0 {
		if time.Now().After(deadline) {
			tr.t.Fatalf("traffic: %d logins, want %d", tr.ok.Load(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tr *traffic) end() {
	close(tr.stop)
	tr.wg.Wait()
	if n := tr.fail.Load(); n > 0 {
		tr.t.Fatalf("%d of %d logins failed during the rotation, e.g. %s", n, n+tr.ok.Load(), tr.failures[0])
	}
}

// Rotating the encryption key while users log in with TOTP: the instance with the old ring,
// then one with v2,v1 beside it, then reencrypt while it serves, then one with v2 alone. No
// login fails; afterwards nothing is readable with the old key alone, and e-mails queued under
// it (SMTP was down) are delivered by the instance that no longer has it.
func TestEncryptionKeyRotationUnderLoginTraffic(t *testing.T) {
	mb := testkit.NewMailbox(t)
	mb.Stop()
	old := testkit.New(t, busyLogins, mb.Use)
	var users []testkit.User
	var totps []string
	for range 4 {
		u := old.CreateUser()
		s, _ := old.Enroll2FA(u)
		users, totps = append(users, u), append(totps, s)
	}
	// The "2FA enabled" e-mails wait in the outbox, sealed under v1.
	waitFor(t, "the first delivery attempts", func() bool {
		return old.Count("SELECT count(*) FROM mail_outbox WHERE status = 'pending' AND attempts >= 1 AND body_enc IS NOT NULL") >= len(users)
	})
	queued := old.Count("SELECT count(*) FROM mail_outbox WHERE status = 'pending'")

	tr := startTraffic(t, old.Clock, old.Clock.Now, users, totps, old)
	tr.await(4)
	// Rolling deploy: an instance with the new ring serves beside the old one (whose background
	// work stops: the new instance's e-mails are sealed under v2, which it cannot open).
	old.StopWorkers()
	rotated := old.Sibling(encRing("v2:" + encV2 + ",v1:" + encV1))
	tr.serve(old, rotated)
	tr.await(6)
	// Every instance has the ring (the old one's requests in flight finish first): reencrypt,
	// 2 rows per batch, while the logins go on.
	tr.serve(rotated)
	time.Sleep(500 * time.Millisecond)
	batches := 0
	if err := rotated.Reencrypt(context.Background(), 2, func(string, secrets.Batch) { batches++ }); err != nil {
		t.Fatal(err)
	}
	tr.await(4)
	// The old key leaves the ring.
	rotated.StopWorkers()
	final := old.Sibling(encRing("v2:" + encV2))
	tr.serve(final)
	tr.await(6)
	tr.end()

	st, err := final.KeyStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range st.Sealed {
		if n != 0 {
			t.Fatalf("%s: %d rows left under the old key", name, n)
		}
	}
	v1Only, _ := secrets.New(bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32))
	rows, err := final.Store().Pool.Query(context.Background(), "SELECT id, twofa_secret_enc FROM users WHERE twofa_secret_enc IS NOT NULL AND id = ANY($1)", userIDs(users))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id int64
		var enc []byte
		if err := rows.Scan(&id, &enc); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(enc, header(2)) {
			t.Fatalf("user %d: secret not under v2: %x", id, enc[:5])
		}
		if _, err := v1Only.Decrypt(enc, []byte(fmt.Sprintf("totp:%d", id))); err == nil {
			t.Fatalf("user %d: the old key alone opens the secret", id)
		}
		n++
	}
	if rows.Err() != nil || n != len(users) {
		t.Fatalf("%d secrets checked: %v", n, rows.Err())
	}
	if c := final.Count("SELECT count(*) FROM mail_outbox WHERE body_enc IS NOT NULL AND substring(body_enc from 1 for 5) <> $1", header(2)); c != 0 {
		t.Fatalf("%d bodies not under v2", c)
	}
	// SMTP is back: the instance without v1 delivers every e-mail queued under it.
	mb.Start()
	final.Clock.Advance(10 * time.Minute)
	waitFor(t, "the queued e-mails", func() bool {
		return final.Count("SELECT count(*) FROM mail_outbox WHERE status = 'pending'") == 0
	})
	if f := final.Count("SELECT count(*) FROM mail_outbox WHERE status = 'failed'"); f != 0 || len(mb.All()) < queued {
		t.Fatalf("%d failed, %d delivered of %d queued", f, len(mb.All()), queued)
	}
	t.Logf("%d logins, %d reencrypt batches, %d e-mails delivered", tr.ok.Load(), batches, len(mb.All()))
}

func userIDs(us []testkit.User) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}
