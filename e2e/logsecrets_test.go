package e2e_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/testkit"
)

// withPassword returns raw with user:password as its user information.
func withPassword(t *testing.T, raw, user, password string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// The real binary, started with a distinct password in every credential-bearing setting, never
// prints one of them: not in the start-up `config` line (REDIS_URL's password used to be there),
// not in any later line while it serves requests, sends mail and stops. It also runs with
// METRICS_ADDR= (empty), which the README documents as "off".
func TestProcessLogCarriesNoSecret(t *testing.T) {
	cfg := testkit.Config(t)
	cfg.LogLevel = "debug"
	s3 := testkit.StartS3(t)
	s3.Configure(&cfg)
	mb := testkit.NewMailbox(t)
	secrets := map[string]string{
		"DATABASE_URL": "dbpw-" + testkit.RandomHex(8),
		"REDIS_URL":    "redispw-" + testkit.RandomHex(8),
		"SMTP_URL":     "smtppw-" + testkit.RandomHex(8),
	}
	// The test PostgreSQL trusts local connections and Redis' default user has no password:
	// both accept any password, so the server really runs with these URLs.
	cfg.DatabaseURL = withPassword(t, cfg.DatabaseURL, "app", secrets["DATABASE_URL"])
	cfg.RedisURL = withPassword(t, cfg.RedisURL, "default", secrets["REDIS_URL"])
	cfg.SMTPURL = withPassword(t, mb.URL(), "mailer", secrets["SMTP_URL"])
	secrets["S3_SECRET_KEY"], secrets["S3_ACCESS_KEY"] = cfg.S3SecretKey, cfg.S3AccessKey
	secrets["FLOWXI_ENCRYPTION_KEY"], secrets["FLOWXI_HMAC_KEY"] = cfg.EncryptionKey, cfg.HMACKey

	p := testkit.StartProcess(t, cfg, "METRICS_ADDR=")
	c := p.Client(t)
	c.Do(testkit.Req{Method: "GET", Path: "/api/v1/health"})
	// An e-mail for the worker to send over the SMTP URL (its failure, if any, is logged too).
	email := "log-" + testkit.RandomHex(4) + "@example.com"
	if r := c.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}}); r.Status != 200 {
		t.Fatalf("send code: %d %s", r.Status, r.Body)
	}
	waitFor(t, "the mail worker's attempt", func() bool {
		return len(mb.All()) > 0 || strings.Contains(p.Output(), "mail will be retried")
	})
	p.Stop()
	// The mailbox refused the login, so the e-mail waits for a retry: drop it, the package's
	// other tests expect an outbox with nothing left to send.
	env := testkit.New(t)
	if err := env.TryExecSQL("DELETE FROM mail_outbox WHERE to_address = $1", email); err != nil {
		t.Fatal(err)
	}
	out := p.Output()
	if !strings.Contains(out, `"msg":"config"`) || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("no config line logged:\n%s", out)
	}
	for name, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Errorf("%s's secret is in the log", name)
		}
	}
	if strings.Contains(out, "metrics listening") {
		t.Errorf("METRICS_ADDR= (empty) still started the metrics listener")
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
