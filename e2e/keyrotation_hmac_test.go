package e2e_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/testkit"
)

// What the HMAC rotation promises: codes, recovery codes and signed URLs made under v1 keep
// working while v1 is in the ring, and everything new is made under v2; `keys status` shows
// the live v1 codes until they expire, then v1 may leave the ring. After that the v2 data
// works, a v1 URL or recovery code is refused (recovery codes never expire: the status counts
// them, README "Rotating the keys"), and bearer tokens (SHA-256, not MACed) are untouched.
func TestHMACKeyRotationWithLiveCodes(t *testing.T) {
	ctx := context.Background()
	mb := testkit.NewMailbox(t)
	old := testkit.New(t, mb.Use)
	sendCode := func(env *testkit.Env, email string) string {
		t.Helper()
		if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}}); r.Status != 200 {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		return mb.Next(email).OTP()
	}
	verifyCode := func(env *testkit.Env, email, code string) *testkit.Resp {
		return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/verify", Headers: map[string]string{"X-App-Locale": "en"},
			JSON: map[string]any{"email": email, "code": code}})
	}
	stepUp := func(env *testkit.Env, u testkit.User, code string) *testkit.Resp {
		return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/verify", Token: u.Token, JSON: map[string]any{"code": code}})
	}
	signed := func(env *testkit.Env) string {
		t.Helper()
		u, err := env.Storage().SignedURL(ctx, "rotation/doc.txt", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	fetch := func(env *testkit.Env, u string) int { return env.Fetch(u).Status }
	if err := old.Storage().Put(ctx, "rotation/doc.txt", strings.NewReader("hello"), 5, "text/plain"); err != nil {
		t.Fatal(err)
	}

	// Under v1: an e-mail code, recovery codes, a signed URL.
	email1 := "rot-" + testkit.RandomHex(4) + "@example.com"
	code1 := sendCode(old, email1)
	u := old.CreateUser()
	_, recovery := old.Enroll2FA(u)
	url1 := signed(old)

	rotated := old.Sibling(macRing("v2:" + macV2 + ",v1:" + macV1))
	if r := verifyCode(rotated, email1, code1); r.Status != 200 || r.Code() != "OTP_VALID" {
		t.Fatalf("v1 code under v2,v1: %d %s", r.Status, r.Body)
	}
	if r := stepUp(rotated, u, recovery[0]); r.Status != 200 {
		t.Fatalf("v1 recovery code under v2,v1: %d %s", r.Status, r.Body)
	}
	if s := fetch(rotated, url1); s != 200 {
		t.Fatalf("v1 URL under v2,v1: %d", s)
	}
	st, err := rotated.KeyStatus(ctx)
	if err != nil || st.Codes != 1 || st.CodesUntil == nil || st.RecoveryCodes != 9 || strings.Join(st.HMAC, ",") != "v2,v1" {
		t.Fatalf("status with a live v1 code: %+v %v", st, err)
	}
	// The procedure waits for the v1 codes to expire (10 minutes); new ones are under v2.
	rotated.Clock.Advance(11 * time.Minute)
	if st, err = rotated.KeyStatus(ctx); err != nil || st.Codes != 0 || st.CodesUntil != nil || st.RecoveryCodes != 9 {
		t.Fatalf("status after expiry: %+v %v", st, err)
	}
	email2 := "rot-" + testkit.RandomHex(4) + "@example.com"
	code2 := sendCode(rotated, email2)
	if n := rotated.Count("SELECT count(*) FROM email_otps o JOIN users u ON u.id = o.user_id WHERE u.email = $1 AND substring(o.code_mac from 1 for 5) = $2", email2, header(2)); n != 1 {
		t.Fatal("the new code is not MACed under v2")
	}
	url2 := signed(rotated)

	// v1 leaves the ring.
	final := old.Sibling(macRing("v2:" + macV2))
	if r := verifyCode(final, email2, code2); r.Status != 200 || r.Code() != "OTP_VALID" {
		t.Fatalf("v2 code under v2: %d %s", r.Status, r.Body)
	}
	if s := fetch(final, url2); s != 200 {
		t.Fatalf("v2 URL under v2: %d", s)
	}
	if s := fetch(final, url1); s != 403 {
		t.Fatalf("v1 URL without v1: %d", s)
	}
	if r := stepUp(final, u, recovery[1]); r.Status != 403 || r.Code() != "INVALID_2FA_CODE" {
		t.Fatalf("v1 recovery code without v1: %d %s", r.Status, r.Body)
	}
	if r := final.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token}); r.Status != 200 {
		t.Fatalf("token issued under the v1 ring: %d %s", r.Status, r.Body)
	}
}

// `keys reencrypt` is resumable: interrupted after its first batch it has committed that
// batch and nothing else; run again it finishes, and a third run has nothing to do.
func TestReencryptIsResumable(t *testing.T) {
	ctx := context.Background()
	dbURL := testkit.FreshDatabase(t)
	mb := testkit.NewMailbox(t)
	mb.Stop() // the "2FA enabled" e-mails stay queued, sealed under v1
	old := testkit.New(t, mb.Use, func(c *config.Config) { c.DatabaseURL = dbURL })
	for range 7 {
		old.Enroll2FA(old.CreateUser())
	}
	underV := func(env *testkit.Env, table, col string, v byte) int {
		return env.Count("SELECT count(*) FROM "+table+" WHERE "+col+" IS NOT NULL AND substring("+col+" from 1 for 5) = $1", header(v))
	}
	if underV(old, "users", "twofa_secret_enc", 1) != 7 || underV(old, "mail_outbox", "body_enc", 1) != 7 {
		t.Fatal("setup: 7 secrets and 7 bodies under v1 expected")
	}
	rotated := old.Sibling(encRing("v2:"+encV2+",v1:"+encV1), func(c *config.Config) { c.DatabaseURL = dbURL })
	rotated.StopWorkers()

	// Interrupted after the first batch (3 rows).
	stop, cancel := context.WithCancel(ctx)
	err := rotated.Reencrypt(stop, 3, func(string, secrets.Batch) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if underV(old, "users", "twofa_secret_enc", 2) != 3 || underV(old, "users", "twofa_secret_enc", 1) != 4 || underV(old, "mail_outbox", "body_enc", 1) != 7 {
		t.Fatalf("the interrupted run did not stop after one committed batch: users v2 %d v1 %d, mail v1 %d", underV(old, "users", "twofa_secret_enc", 2),
			underV(old, "users", "twofa_secret_enc", 1), underV(old, "mail_outbox", "body_enc", 1))
	}
	// Run again: it goes on, and every row is under v2.
	var read, rewritten int64
	count := func(_ string, b secrets.Batch) { read += int64(b.Read); rewritten += b.Rewritten }
	if err := rotated.Reencrypt(ctx, 3, count); err != nil {
		t.Fatal(err)
	}
	if read != 11 || rewritten != 11 || underV(old, "users", "twofa_secret_enc", 2) != 7 || underV(old, "mail_outbox", "body_enc", 2) != 7 {
		t.Fatalf("second run: %d read, %d rewritten", read, rewritten)
	}
	st, err := rotated.KeyStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range st.Sealed {
		if n != 0 {
			t.Fatalf("%s: %d left", name, n)
		}
	}
	read, rewritten = 0, 0
	if err := rotated.Reencrypt(ctx, 3, count); err != nil || read != 0 {
		t.Fatalf("third run read %d rows: %v", read, err)
	}
	// Without v1 every e-mail is still delivered.
	old.StopWorkers()
	mb.Start()
	final := old.Sibling(encRing("v2:"+encV2), func(c *config.Config) { c.DatabaseURL = dbURL })
	final.Clock.Advance(10 * time.Minute)
	waitFor(t, "the queued e-mails", func() bool {
		return final.Count("SELECT count(*) FROM mail_outbox WHERE status = 'sent'") == 7
	})
}
