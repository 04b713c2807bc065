package internalkeys_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// pair is two server instances on one database and one Redis prefix.
func pair(t *testing.T) (a, b *testkit.Env) {
	a = testkit.New(t)
	b = testkit.New(t, func(c *config.Config) { c.RedisPrefix = a.Cfg.RedisPrefix })
	return a, b
}

func uniq(name string) string { return fmt.Sprintf("%s-%d", name, time.Now().UnixNano()) }

// events is an internal call any events:read key may make (200 or 401).
func events(env *testkit.Env, key string) int {
	return env.Do(testkit.Req{Method: "GET", Path: "/api/v1/internal/events?limit=1", Headers: map[string]string{"X-Internal-Key": key}}).Status
}

func admin(env *testkit.Env, key, method, path string, body any) *testkit.Resp {
	return env.Do(testkit.Req{Method: method, Path: path, JSON: body, Headers: map[string]string{"X-Internal-Key": key, "X-App-Locale": "en"}})
}

// A key revoked through one instance is refused on its next request on both; the list shows
// it revoked, never a secret; revoking again is 409.
func TestRevokedKeyRefusedOnEveryInstance(t *testing.T) {
	a, b := pair(t)
	adminKey := a.CreateInternalKey(uniq("keys-admin"), "keys:admin")
	name := uniq("feed-reader")
	key := a.CreateInternalKey(name, "events:read")
	if events(a, key) != 200 || events(b, key) != 200 {
		t.Fatal("fresh key refused")
	}
	r := admin(b, adminKey, "POST", "/api/v1/internal/keys/"+name+"/revoke", map[string]any{"reason": "Leaked in a CI log."})
	if r.Status != 200 || r.Code() != "INTERNAL_KEY_REVOKED" || testkit.Decode[api.InternalKeyResponse](t, r).Data.RevokedAt == nil {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if events(a, key) != 401 || events(b, key) != 401 {
		t.Fatal("revoked key still accepted")
	}
	if r := admin(a, adminKey, "POST", "/api/v1/internal/keys/"+name+"/revoke", map[string]any{"reason": "Again."}); r.Status != 409 || r.Code() != "INTERNAL_KEY_INACTIVE" {
		t.Fatalf("revoke twice: %d %s", r.Status, r.Body)
	}
	if r := admin(a, adminKey, "POST", "/api/v1/internal/keys/"+name+"/revoke", map[string]any{"reason": "  "}); r.Status != 422 || r.Errors()["reason"] == nil {
		t.Fatalf("blank reason: %d %s", r.Status, r.Body)
	}
	if r := admin(a, adminKey, "POST", "/api/v1/internal/keys/no-such-key/revoke", map[string]any{"reason": "x"}); r.Status != 404 || r.Code() != "INTERNAL_KEY_NOT_FOUND" {
		t.Fatalf("unknown key: %d %s", r.Status, r.Body)
	}
	list := admin(a, adminKey, "GET", "/api/v1/internal/keys", nil)
	if list.Status != 200 {
		t.Fatalf("list: %d %s", list.Status, list.Body)
	}
	found := false
	for _, k := range testkit.Decode[api.InternalKeysResponse](t, list).Data {
		if k.Name == name {
			found = k.RevokedAt != nil && len(k.Scopes) == 1 && k.LastUsedAt != nil
		}
	}
	if !found {
		t.Fatalf("list: %s", list.Body)
	}
	if n := a.Count(`SELECT count(*) FROM audit_events WHERE action = 'internal_key.revoked' AND actor_type = 'internal_key' AND details->>'reason' = 'Leaked in a CI log.'`); n != 1 {
		t.Fatalf("revocation audited %d times", n)
	}
	if body := string(list.Body); strings.Contains(body, key) || strings.Contains(body, "hash") {
		t.Fatal("the list shows a secret")
	}
}

// After a rotation both keys work during the overlap, on both instances; once the overlap
// has passed (injected clocks) the old key is refused and the new one still works.
func TestRotationOverlapHonouredThenClosed(t *testing.T) {
	a, b := pair(t)
	adminKey := a.CreateInternalKey(uniq("keys-admin"), "keys:*")
	name := uniq("feed")
	old := a.CreateInternalKey(name, "events:read")
	r := admin(a, adminKey, "POST", "/api/v1/internal/keys/"+name+"/rotate", map[string]any{"overlap_seconds": 3600})
	if r.Status != 200 || r.Code() != "INTERNAL_KEY_ROTATED" {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	d := testkit.Decode[api.InternalKeySecretResponse](t, r).Data
	if d.Key == old || len(d.Key) < 40 || d.PreviousExpiresAt == nil {
		t.Fatalf("rotate: %+v", d)
	}
	for _, env := range []*testkit.Env{a, b} {
		if events(env, old) != 200 || events(env, d.Key) != 200 {
			t.Fatal("a key refused during the overlap")
		}
	}
	for _, env := range []*testkit.Env{a, b} {
		env.Clock.Advance(time.Hour + time.Second)
		if events(env, old) != 401 || events(env, d.Key) != 200 {
			t.Fatal("after the overlap: old key accepted or new one refused")
		}
	}
	// A rotation without an overlap ends the current key at once; the default is the config's.
	r2 := admin(b, adminKey, "POST", "/api/v1/internal/keys/"+name+"/rotate", map[string]any{"overlap_seconds": 0})
	newer := testkit.Decode[api.InternalKeySecretResponse](t, r2).Data.Key
	if events(a, d.Key) != 401 || events(a, newer) != 200 {
		t.Fatal("rotation without overlap")
	}
	r3 := admin(b, adminKey, "POST", "/api/v1/internal/keys/"+name+"/rotate", map[string]any{})
	if until := testkit.Decode[api.InternalKeySecretResponse](t, r3).Data.PreviousExpiresAt; until == nil {
		t.Fatal("default overlap not applied")
	}
	if n := a.Count(`SELECT count(*) FROM audit_events WHERE action = 'internal_key.rotated' AND subject_id = $1`, fmt.Sprint(d.Id)); n != 3 {
		t.Fatalf("rotations audited %d times", n)
	}
}

// A key created with an expiry works until it and is refused from it on, on both instances.
func TestExpiredKeyRefused(t *testing.T) {
	a, b := pair(t)
	name := uniq("temp")
	until := a.Clock.Now().Add(2 * time.Hour)
	key, err := a.Parts().InternalKeys.CreateExpiring(t.Context(), name, []string{"events:read"}, &until)
	if err != nil {
		t.Fatal(err)
	}
	if events(a, key) != 200 || events(b, key) != 200 {
		t.Fatal("key refused before its expiry")
	}
	for _, env := range []*testkit.Env{a, b} {
		env.Clock.Advance(2*time.Hour + time.Second)
		if events(env, key) != 401 {
			t.Fatal("expired key accepted")
		}
	}
}

// last_used_at is written at most once a minute per key, not on every request.
func TestLastUsedWrittenAtMostOnceAMinute(t *testing.T) {
	env := testkit.New(t)
	name := uniq("touch")
	key := env.CreateInternalKey(name, "events:read")
	lastUsed := func() time.Time {
		var at time.Time
		env.Scan(`SELECT last_used_at FROM internal_keys WHERE name = $1`, []any{name}, &at)
		return at
	}
	events(env, key)
	first := lastUsed()
	env.Clock.Advance(30 * time.Second)
	events(env, key)
	if !lastUsed().Equal(first) {
		t.Fatal("last_used_at written twice within a minute")
	}
	env.Clock.Advance(31 * time.Second)
	events(env, key)
	if !lastUsed().After(first) {
		t.Fatal("last_used_at not written after a minute")
	}
}
