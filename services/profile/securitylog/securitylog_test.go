package securitylog_test

import (
	"context"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestUserReadsOnlyOwnSecurityEventsPaginated(t *testing.T) {
	env := testkit.New(t)
	me, other := env.CreateUser(), env.CreateUser()
	ctx := context.Background()
	add := func(user int64, action string) {
		err := env.Store().Tx(ctx, func(q *db.Queries) error {
			return audit.Record(ctx, q, env.Clock.Now(), audit.Event{Action: action, UserID: user})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		add(me.ID, "auth.login.succeeded")
	}
	add(me.ID, "twofa.enabled")
	add(me.ID, "ledger.transfer.posted") // not a security event
	add(other.ID, "auth.login.succeeded")

	var seen []int64
	cursor := ""
	for page := 0; page < 5; page++ {
		path := "/api/v1/me/security-events?limit=4"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := env.Do(testkit.Req{Method: "GET", Path: path, Token: me.Token, Headers: map[string]string{"X-App-Locale": "en"}})
		if r.Status != 200 || r.Code() != "SECURITY_EVENTS_OK" {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		page := testkit.Decode[api.SecurityEventsResponse](t, r)
		for _, ev := range page.Data {
			seen = append(seen, ev.Id)
			if ev.Action == "twofa.enabled" && ev.Description != "Two-factor authentication enabled." {
				t.Fatalf("description %v", ev.Description)
			}
		}
		nc := ptr.Value(page.NextCursor)
		if nc == "" {
			break
		}
		cursor = nc
	}
	if len(seen) != 6 {
		t.Fatalf("saw %d events, want 6 (own security events only): %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("not newest first: %v", seen)
		}
	}
	fr := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me/security-events?limit=1", Token: me.Token, Headers: map[string]string{"X-App-Locale": "fr"}})
	if d := testkit.Decode[api.SecurityEventsResponse](t, fr).Data[0].Description; d != "Authentification à deux facteurs activée." {
		t.Fatalf("fr description %v", d)
	}
	for _, bad := range []string{"limit=0", "limit=101", "cursor=abc", "limit=x"} {
		r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me/security-events?" + bad, Token: me.Token})
		if r.Status != 422 || r.Code() != "VALIDATION_FAILED" {
			t.Fatalf("%s: got %d %s", bad, r.Status, r.Body)
		}
	}
}
