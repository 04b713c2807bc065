package registration_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"strconv"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// harness is a server whose mail worker delivers to a real in-process SMTP server.
type harness struct {
	*testkit.Env
	mb *testkit.Mailbox
}

// start builds a harness. Loopback is a trusted proxy, so a test can pose as several client IPs
// with X-Forwarded-For.
func start(t *testing.T, adjust ...func(*config.Config)) harness {
	t.Helper()
	mb := testkit.NewMailbox(t)
	adjust = append([]func(*config.Config){mb.Use, func(c *config.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}}, adjust...)
	return harness{Env: testkit.New(t, adjust...), mb: mb}
}

// post sends a JSON body in a language ("" sends no locale header) from an optional client IP.
func (h harness) post(path string, body map[string]any, lang string, ip ...string) *testkit.Resp {
	h.T.Helper()
	hd := map[string]string{}
	if lang != "" {
		hd["X-App-Locale"] = lang
	}
	if len(ip) > 0 {
		hd["X-Forwarded-For"] = ip[0]
	}
	return h.Do(testkit.Req{Method: "POST", Path: path, JSON: body, Headers: hd})
}

// sendCode asks for a registration code and returns it, read from the e-mail.
func (h harness) sendCode(email, lang string) string {
	h.T.Helper()
	r := h.post("/api/v1/register-email-code/send", map[string]any{"email": email}, lang)
	if r.Status != 200 || r.Code() != "OTP_SENT" {
		h.T.Fatalf("send: %d %s", r.Status, r.Body)
	}
	code := h.mb.Next(email).OTP()
	if len(code) != 6 {
		h.T.Fatalf("no code in the e-mail")
	}
	return code
}

func expect(t *testing.T, r *testkit.Resp, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

func expectRateLimited(t *testing.T, r *testkit.Resp) {
	t.Helper()
	expect(t, r, 429, "RATE_LIMITED")
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
}

func newEmail() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "reg-" + hex.EncodeToString(b) + "@example.com"
}

const strongPassword = "Vanilla-Kestrel-42"

func setPasswordBody(email, code string) map[string]any {
	return map[string]any{"email": email, "code": code, "password": strongPassword, "password_confirmation": strongPassword}
}
