package support_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a running server with two support keys (the four eyes) and a read-only one.
type fixture struct {
	*testkit.Env
	alice, bob, reader string
}

var keyN int

func newFixture(t *testing.T, adjust ...func(*config.Config)) *fixture {
	env := testkit.New(t, adjust...)
	keyN++
	n := fmt.Sprintf("%d-%d", keyN, time.Now().UnixNano())
	return &fixture{Env: env,
		alice:  env.CreateInternalKey("support-alice-"+n, "support:read", "support:write"),
		bob:    env.CreateInternalKey("support-bob-"+n, "support:*"),
		reader: env.CreateInternalKey("support-reader-"+n, "support:read"),
	}
}

// call sends an internal request with key (X-App-Locale lang when given).
func call(env *testkit.Env, key, method, path string, body any, lang ...string) *testkit.Resp {
	env.T.Helper()
	h := map[string]string{"X-Internal-Key": key}
	if len(lang) > 0 {
		h["X-App-Locale"] = lang[0]
	}
	return env.Do(testkit.Req{Method: method, Path: path, JSON: body, Headers: h})
}

func reason(r string) map[string]any { return map[string]any{"reason": r} }

// audits counts the audit rows of action written by key (by name) about userID.
func (f *fixture) audits(action, key string, userID int64) int {
	return f.Count(`SELECT count(*) FROM audit_events a JOIN internal_keys k ON k.name = a.actor_id
		WHERE a.action = $1 AND a.actor_type = 'internal_key' AND k.key_hash = sha256($2::text::bytea)
		AND (a.details->>'key_id')::bigint = k.id AND a.user_id IS NOT DISTINCT FROM $3`, action, key, nullID(userID))
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// A user is found by each of e-mail (any case, padded), username and id, with profile, status,
// 2FA, compliance, wallets and last logins; each lookup, also a miss, is audited with the key.
func TestFindUserByEachKey(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser(testkit.WithDevice("phone-7"))
	if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/wallets", Token: u.Token, JSON: map[string]any{"currency": "EUR"}}); r.Status != 201 {
		t.Fatalf("wallet: %d %s", r.Status, r.Body)
	}
	login := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(u, "phone-8")})
	if login.Code() != "LOGIN_SUCCESS" {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	for i, q := range []string{"email=" + url.QueryEscape(" "+strings.ToUpper(u.Email)+" "), "username=" + u.Username, fmt.Sprintf("id=%d", u.ID)} {
		r := call(f.Env, f.reader, "GET", "/api/v1/internal/support/users?"+q, nil)
		if r.Status != 200 || r.Code() != "SUPPORT_USER_OK" {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
		d := testkit.Decode[api.SupportUserResponse](t, r).Data
		if d.Id != u.ID || d.Email != u.Email || ptr.Value(d.Username) != u.Username || d.Status != "active" || d.TwofaEnabled {
			t.Fatalf("%s: %+v", q, d)
		}
		if len(d.Wallets) != 1 || d.Wallets[0].Currency != "EUR" || len(d.Compliance.Cases) == 0 || d.Compliance.Cases[0].Status != "approved" {
			t.Fatalf("%s: wallets %+v compliance %+v", q, d.Wallets, d.Compliance)
		}
		if len(d.LastLogins) == 0 || ptr.Value(d.LastLogins[0].DeviceId) != "phone-8" || ptr.Value(d.LastLogins[0].Method) != "password" {
			t.Fatalf("%s: last logins %+v", q, d.LastLogins)
		}
		if n := f.audits("support.user.viewed", f.reader, u.ID); n != i+1 {
			t.Fatalf("%s: %d audit rows", q, n)
		}
	}
	miss := call(f.Env, f.reader, "GET", "/api/v1/internal/support/users?email=nobody-"+u.Email, nil, "en")
	if miss.Status != 404 || miss.Code() != "USER_NOT_FOUND" || miss.Message() != "User not found." {
		t.Fatalf("miss: %d %s", miss.Status, miss.Body)
	}
	if n := f.audits("support.user.viewed", f.reader, 0); n != 1 {
		t.Fatalf("miss audited %d times", n)
	}
	for _, q := range []string{"", "?email=a@b.c&id=1"} {
		r := call(f.Env, f.reader, "GET", "/api/v1/internal/support/users"+q, nil)
		if r.Status != 422 || r.Errors()["email"] == nil {
			t.Fatalf("lookup %q: %d %s", q, r.Status, r.Body)
		}
	}
}

// Every write refuses a missing, empty or blank reason with 422 naming reason, localized, and
// writes nothing (no audit row, no change).
func TestEveryWriteNeedsAReason(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser()
	f.ExecSQL(`UPDATE users SET twofa_enabled = true WHERE id = $1`, u.ID)
	paths := []string{
		fmt.Sprintf("/api/v1/internal/support/users/%d/sessions/revoke", u.ID),
		fmt.Sprintf("/api/v1/internal/support/users/%d/sessions/%d/revoke", u.ID, u.TokenID),
		fmt.Sprintf("/api/v1/internal/support/users/%d/twofa-reset", u.ID),
		"/api/v1/internal/support/twofa-resets/1/approve",
		fmt.Sprintf("/api/v1/internal/support/users/%d/registration/resend", u.ID),
		fmt.Sprintf("/api/v1/internal/support/users/%d/registration/expire", u.ID),
	}
	before := f.Count(`SELECT count(*) FROM audit_events WHERE action LIKE 'support.%'`)
	for _, p := range paths {
		for _, body := range []any{map[string]any{}, reason(""), reason("   \n\t ")} {
			for lang, want := range map[string]string{"fr": "Certains champs sont invalides.", "en": "Some fields are invalid."} {
				r := call(f.Env, f.alice, "POST", p, body, lang)
				if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || r.Errors()["reason"] == nil || r.Message() != want {
					t.Fatalf("%s %v: %d %s", p, body, r.Status, r.Body)
				}
				if r.Header.Get("Content-Language") != lang {
					t.Fatalf("%s: Content-Language %q", p, r.Header.Get("Content-Language"))
				}
			}
		}
	}
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE action LIKE 'support.%'`); n != before {
		t.Fatalf("refused writes left %d audit rows", n-before)
	}
	if n := f.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1 AND revoked_at IS NULL`, u.ID); n != 1 {
		t.Fatalf("refused writes revoked tokens: %d live", n)
	}
	if n := f.Count(`SELECT count(*) FROM support_twofa_resets WHERE user_id = $1`, u.ID); n != 0 {
		t.Fatalf("refused writes recorded %d resets", n)
	}
}

// Ending one session, then all, through one instance is refused at once on another instance
// sharing the database and Redis; both are audited with the key and the reason.
func TestSessionRevokeIsEffectiveOnAnotherInstance(t *testing.T) {
	f := newFixture(t)
	other := testkit.New(t, func(c *config.Config) { c.RedisPrefix = f.Cfg.RedisPrefix })
	u := f.CreateUser(testkit.WithDevice("phone-1"))
	second := login(t, f.Env, u, "tablet-1")
	me := func(env *testkit.Env, tok string) int {
		return env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: tok}).Status
	}
	if me(other, u.Token) != 200 || me(other, second) != 200 {
		t.Fatal("tokens not live on the other instance")
	}
	list := call(f.Env, f.reader, "GET", fmt.Sprintf("/api/v1/internal/support/users/%d/sessions", u.ID), nil)
	sessions := testkit.Decode[api.SupportSessionsResponse](t, list).Data
	if list.Status != 200 || len(sessions) != 2 {
		t.Fatalf("sessions: %d %s", list.Status, list.Body)
	}
	one := call(f.Env, f.alice, "POST", fmt.Sprintf("/api/v1/internal/support/users/%d/sessions/%d/revoke", u.ID, u.TokenID), reason("Stolen phone (ticket 1)."))
	if one.Status != 200 || one.Code() != "SESSION_REVOKED" {
		t.Fatalf("revoke one: %d %s", one.Status, one.Body)
	}
	if me(other, u.Token) != 401 || me(other, second) != 200 {
		t.Fatal("the revoked session still works on the other instance, or the other one was ended")
	}
	again := call(f.Env, f.alice, "POST", fmt.Sprintf("/api/v1/internal/support/users/%d/sessions/%d/revoke", u.ID, u.TokenID), reason("Again."), "en")
	if again.Status != 404 || again.Code() != "SESSION_NOT_FOUND" || again.Message() != "Session not found." {
		t.Fatalf("revoke twice: %d %s", again.Status, again.Body)
	}
	all := call(f.Env, f.bob, "POST", fmt.Sprintf("/api/v1/internal/support/users/%d/sessions/revoke", u.ID), reason("Account takeover suspected."))
	if all.Status != 200 || testkit.Decode[api.SupportRevokedResponse](t, all).Data.RevokedTokens != 1 {
		t.Fatalf("revoke all: %d %s", all.Status, all.Body)
	}
	if me(other, second) != 401 {
		t.Fatal("revoke all: a session still works on the other instance")
	}
	if f.audits("support.sessions.viewed", f.reader, u.ID) != 1 || f.audits("support.session.revoked", f.alice, u.ID) != 2 || f.audits("support.sessions.revoked", f.bob, u.ID) != 1 {
		t.Fatal("session calls not audited with their key")
	}
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE action = 'support.sessions.revoked' AND details->>'reason' = 'Account takeover suspected.'`); n != 1 {
		t.Fatal("reason not audited")
	}
	ro := call(f.Env, f.reader, "POST", fmt.Sprintf("/api/v1/internal/support/users/%d/sessions/revoke", u.ID), reason("x"))
	if ro.Status != 403 || ro.Code() != "FORBIDDEN" {
		t.Fatalf("support:read revoking: %d %s", ro.Status, ro.Body)
	}
}

// login logs u in on device and returns the token.
func login(t *testing.T, env *testkit.Env, u testkit.User, device string) string {
	t.Helper()
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: loginBody(u, device)})
	if r.Code() != "LOGIN_SUCCESS" {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	return testkit.DataOf[api.LoginTokenData](t, r).AccessToken
}
