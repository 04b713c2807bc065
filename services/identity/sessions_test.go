package identity_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/identity/stepup"
	"github.com/flowxi/backend/services/identity/tokens"
	"github.com/flowxi/backend/testkit"
)

const day = 24 * time.Hour

func deviceIDs(t *testing.T, r *testkit.Resp) (ids []string, current string) {
	t.Helper()
	if r.Status != 200 || r.Code() != "DEVICES_OK" {
		t.Fatalf("devices: %d %s", r.Status, r.Body)
	}
	for _, d := range testkit.Decode[api.DevicesResponse](t, r).Data {
		ids = append(ids, d.DeviceId)
		if d.Current {
			if current != "" {
				t.Fatalf("two current devices: %s", r.Body)
			}
			current = d.DeviceId
		}
	}
	return ids, current
}

func TestDevicesListAndLogouts(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithoutToken())
	a := mustLogin(env, u.Email, u.Password, "A")
	env.Clock.Advance(2 * time.Minute)
	b := mustLogin(env, u.Email, u.Password, "B")
	env.Clock.Advance(2 * time.Minute)
	c := mustLogin(env, u.Email, u.Password, "C")
	// A legacy token without a device is valid but never listed.
	var legacy string
	err := env.Store().Tx(context.Background(), func(q *db.Queries) (err error) {
		legacy, _, err = env.Tokens().Issue(context.Background(), q, u.ID, tokens.Device{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(2 * time.Minute)

	// A is used last, so it comes first; then C, B. The legacy token is left out.
	ids, cur := deviceIDs(t, devices(env, a))
	if strings.Join(ids, ",") != "A,C,B" || cur != "A" {
		t.Fatalf("order %v current %q", ids, cur)
	}
	r := devices(env, legacy)
	if ids, cur := deviceIDs(t, r); strings.Join(ids, ",") != "A,C,B" || cur != "" {
		t.Fatalf("from legacy: %v %q", ids, cur)
	}
	first := testkit.Decode[api.DevicesResponse](t, r).Data[0]
	if first.DeviceType != "ios" || first.DeviceName != "iPhone A" || ptr.Value(first.Ip) != "127.0.0.1" || first.Country != nil {
		t.Fatalf("device fields %+v", first)
	}

	// logout-device: unknown device is 404; B is revoked, the others keep working.
	for _, lang := range []struct{ header, msg string }{{"fr", "Appareil introuvable."}, {"en", "Device not found."}} {
		r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-device", Token: a, JSON: map[string]any{"device_id": "nope"}, Headers: map[string]string{"X-App-Locale": lang.header}})
		if r.Status != 404 || r.Code() != "DEVICE_NOT_FOUND" || r.Message() != lang.msg {
			t.Fatalf("unknown device: %d %s", r.Status, r.Body)
		}
	}
	grants := stepup.New(env.Cache())
	bID, _ := strconv.ParseInt(b[:strings.IndexByte(b, '|')], 10, 64)
	if err := grants.Grant(context.Background(), bID); err != nil {
		t.Fatal(err)
	}
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-device", Token: a, JSON: map[string]any{"device_id": "B"}}); r.Status != 200 || r.Code() != "LOGOUT_SUCCESS" || r.Message() != "Déconnecté." {
		t.Fatalf("logout-device: %d %s", r.Status, r.Body)
	}
	if active, _ := grants.Active(context.Background(), bID); active {
		t.Fatal("step-up window of the revoked token survived")
	}
	if r := devices(env, b); r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("revoked token accepted: %d", r.Status)
	}
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-device", Token: a, JSON: map[string]any{"device_id": "B"}}); r.Status != 404 {
		t.Fatalf("second logout-device: %d", r.Status)
	}
	if ids, _ := deviceIDs(t, devices(env, c)); strings.Join(ids, ",") != "C,A" {
		t.Fatalf("after logout-device: %v", ids)
	}

	// logout: only the current token.
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout", Token: c, Headers: map[string]string{"X-App-Locale": "en"}}); r.Status != 200 || r.Code() != "LOGOUT_SUCCESS" || r.Message() != "Logged out." {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout", Token: c}); r.Status != 401 {
		t.Fatalf("logout replay: %d", r.Status)
	}
	if r := devices(env, a); r.Status != 200 {
		t.Fatalf("A lost its session: %d", r.Status)
	}

	// logout-others from A: D and the legacy token go, A stays.
	d := mustLogin(env, u.Email, u.Password, "D")
	r = env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-others", Token: a, Headers: map[string]string{"X-App-Locale": "en"}})
	if r.Status != 200 || r.Code() != "LOGOUT_OTHERS_SUCCESS" || r.Message() != "Other devices logged out." || testkit.Decode[api.LogoutOthersResponse](t, r).Data.Revoked != 2 {
		t.Fatalf("logout-others: %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{d, legacy} {
		if r := devices(env, tok); r.Status != 401 {
			t.Fatalf("token survived logout-others: %d", r.Status)
		}
	}
	if ids, cur := deviceIDs(t, devices(env, a)); strings.Join(ids, ",") != "A" || cur != "A" {
		t.Fatalf("after logout-others: %v", ids)
	}
	for action, want := range map[string]int{"auth.device.revoked": 1, "auth.logout": 1, "auth.logout_others": 1} {
		if n := env.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = $2`, u.ID, action); n != want {
			t.Fatalf("%s audit events %d", action, n)
		}
	}
}

func TestExpiredAndTamperedTokensRefused(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithoutToken())
	keep := mustLogin(env, u.Email, u.Password, "kept-alive")
	idle := mustLogin(env, u.Email, u.Password, "idle")
	id, secret, _ := strings.Cut(keep, "|")

	flip := []byte(secret)
	flip[0] ^= 1
	other, _, _ := strings.Cut(idle, "|")
	for name, tok := range map[string]string{
		"secret changed":        id + "|" + string(flip),
		"other token's id":      other + "|" + secret,
		"secret truncated":      id + "|" + secret[:39],
		"secret extended":       keep + "x",
		"no separator":          id + secret,
		"negative id":           "-" + keep,
		"id overflow":           "99999999999999999999|" + secret,
		"unknown id":            "987654321|" + secret,
		"whitespace in secret":  id + "|" + secret[:20] + " " + secret[21:],
		"non-numeric id prefix": "x" + keep,
	} {
		if r := devices(env, tok); r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
	}

	// Used every 6 days, "kept-alive" survives idle expiry; "idle" dies after 7 days unused.
	for i := 0; i < 4; i++ {
		env.Clock.Advance(6 * day)
		if r := devices(env, keep); r.Status != 200 {
			t.Fatalf("day %d: %d", 6*(i+1), r.Status)
		}
		if i == 1 {
			if r := devices(env, idle); r.Status != 401 {
				t.Fatalf("idle token accepted after 12 days: %d", r.Status)
			}
		}
		want := "kept-alive"
		if i == 0 {
			want = "kept-alive,idle" // 6 days unused: still live
		}
		if ids, _ := deviceIDs(t, devices(env, keep)); strings.Join(ids, ",") != want {
			t.Fatalf("day %d: devices %v, want %s", 6*(i+1), ids, want)
		}
	}
	// Day 30 + 1 h: past the absolute lifetime although used 6 days ago.
	env.Clock.Advance(6*day + time.Hour)
	if r := devices(env, keep); r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("token past 30 days accepted: %d", r.Status)
	}
	// An expired device is unknown to logout-device.
	fresh := mustLogin(env, u.Email, u.Password, "fresh")
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/logout-device", Token: fresh, JSON: map[string]any{"device_id": "kept-alive"}}); r.Status != 404 {
		t.Fatalf("logout of an expired device: %d", r.Status)
	}
}
