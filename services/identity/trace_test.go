package identity_test

import (
	"strings"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// TestLoginRecordsTheAttemptEvenWhenIssuingFails: a right password whose token cannot be
// stored answers 500, but the attempt is audited and shows in the owner's security events —
// a correct password is never observable without a trace. A wrong one is recorded as before.
func TestLoginRecordsTheAttemptEvenWhenIssuingFails(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser() // with a token, to read the security events
	env.RefuseTokensFor("Refused Phone")
	body := func(pw string) map[string]any {
		return map[string]any{"email": u.Email, "password": pw, "device_id": "refused", "device_type": "ios", "device_name": "Refused Phone"}
	}
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: body("Wr0ng-Password!")}); r.Status != 401 {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: body(u.Password)})
	if r.Status != 500 || r.Code() != "SERVER_ERROR" {
		t.Fatalf("right password, refused token: %d %s", r.Status, r.Body)
	}
	if n := env.Count(`SELECT count(*) FROM access_tokens WHERE user_id = $1 AND device_id = 'refused'`, u.ID); n != 0 {
		t.Fatal("a token was stored")
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'auth.login.failed'`, u.ID); n != 1 {
		t.Fatalf("%d failure rows", n)
	}
	if n := env.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action LIKE 'auth.login.%' AND action <> 'auth.login.failed' AND details->>'device_id' = 'refused'`, u.ID); n != 1 {
		t.Fatalf("%d rows for the right password whose token failed, want 1", n)
	}
	ev := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me/security-events", Token: u.Token, Headers: map[string]string{"X-App-Locale": "en"}})
	if ev.Status != 200 {
		t.Fatalf("security events: %d %s", ev.Status, ev.Body)
	}
	list := testkit.Decode[api.SecurityEventsResponse](t, ev).Data
	if len(list) == 0 {
		t.Fatalf("no security events: %s", ev.Body)
	}
	newest := list[0]
	if a := newest.Action; !strings.HasPrefix(a, "auth.login.") || a == "auth.login.failed" || newest.Description == "Security event." {
		t.Fatalf("the newest security event is %v, want the accepted password", newest)
	}
}
