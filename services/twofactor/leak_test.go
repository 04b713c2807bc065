package twofactor_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"strconv"
	"strings"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

// After enable the secret appears in no response, no log line and nowhere in clear in
// PostgreSQL; recovery codes are never logged nor stored in clear.
func TestSecretNeverLeaks(t *testing.T) {
	logs := &testkit.LogBuffer{}
	env := testkit.NewWithLog(t, logs)
	ctx := context.Background()
	u := env.CreateUser()

	// While pending, the secret is in Redis only, and not in clear there either.
	st := env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token})
	pendingSecret := ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).Secret)
	keys := env.RedisKeys("twofa:pending:*")
	if len(keys) != 1 {
		t.Fatalf("pending keys %v", keys)
	}
	if v := env.Redis().Get(ctx, keys[0]).Val(); strings.Contains(v, pendingSecret) {
		t.Fatal("pending secret in clear in Redis")
	}

	secret, recovery := enroll(t, env, u)
	if secret != pendingSecret {
		t.Fatal("enable committed another secret than the one shown")
	}
	var bodies []string
	keep := func(r *testkit.Resp) { bodies = append(bodies, string(r.Body)) }
	keep(env.Do(testkit.Req{Method: "GET", Path: statusPath, Token: u.Token}))
	keep(env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": code(t, env, secret, 0)}}))
	keep(stepUp(env, u.Token, wrongCode(t, env, secret)))
	keep(stepUp(env, u.Token, code(t, env, secret, 0)))
	ch := newChallenge(t, env, u, "127.0.0.1", testUA)
	keep(verifyLogin(env, ch.ID, wrongCode(t, env, secret), nil))
	keep(verifyLogin(env, ch.ID, recovery[0], nil))
	keep(env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/2fa/disable", Token: u.Token, JSON: map[string]any{"code": wrongCode(t, env, secret)}}))
	for _, b := range bodies {
		if strings.Contains(b, secret) || strings.Contains(strings.ToLower(b), strings.ToLower(secret)) {
			t.Fatalf("secret in a response: %s", b)
		}
	}

	out := logs.String()
	if !strings.Contains(out, `"msg":"request"`) {
		t.Fatal("no log captured: the test would prove nothing")
	}
	for _, s := range append([]string{secret, pendingSecret}, recovery...) {
		if strings.Contains(out, s) {
			t.Fatalf("%q in the logs", s)
		}
	}

	var enc []byte
	if err := env.QueryRow("SELECT twofa_secret_enc FROM users WHERE id = $1", u.ID).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte(secret)) || bytes.Contains(enc, raw) {
		t.Fatal("secret stored in clear")
	}
	plain, err := env.Keys().Decrypt(enc, []byte("totp:"+strconv.FormatInt(u.ID, 10)))
	if err != nil || string(plain) != secret {
		t.Fatalf("stored value is not the secret sealed for this user: %v", err)
	}
	// Nothing else in the database holds the secret or a recovery code.
	for _, s := range append([]string{secret}, recovery...) {
		n := env.Count(`SELECT (SELECT count(*) FROM audit_events WHERE details::text ILIKE '%' || $1 || '%')
			+ (SELECT count(*) FROM mail_outbox WHERE subject ILIKE '%' || $1 || '%')`, s)
		if n != 0 {
			t.Fatalf("%q found in the database", s)
		}
	}
	rows := env.Query("SELECT to_address, template, body_enc FROM mail_outbox WHERE to_address = $1", u.Email)
	defer rows.Close()
	for rows.Next() {
		var to, tpl string
		var body []byte
		if err := rows.Scan(&to, &tpl, &body); err != nil {
			t.Fatal(err)
		}
		if body == nil {
			continue // already sent and wiped
		}
		b, err := env.Outbox().Open(to, tpl, body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.Text+b.HTML, secret) {
			t.Fatalf("secret in the %s e-mail", tpl)
		}
	}
}
