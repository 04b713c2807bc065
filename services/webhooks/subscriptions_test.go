package webhooks_test

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

const subs = "/api/v1/internal/webhooks/subscriptions"

// Create, read, list, change, pause, resume, rotate and delete: each answers its documented
// body, the secret is shown at creation and rotation only and never stored in clear, and every
// change leaves its audit row.
func TestSubscriptionLifecycle(t *testing.T) {
	f := newFixture(t)
	created := f.subscribe("http://127.0.0.1:9/hook", "deposit.posted", "transfer.completed")
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9_-]{43}$`).MatchString(created.Secret) {
		t.Fatalf("secret %q", created.Secret)
	}
	if strings.Join(created.EventTypes, ",") != "deposit.posted,transfer.completed" || created.Status != "active" {
		t.Fatalf("created %+v", created)
	}
	if n := f.Count("SELECT count(*) FROM webhook_subscriptions WHERE position($1::bytea IN secret_sealed) > 0", []byte(created.Secret)); n != 0 {
		t.Fatal("the secret is stored in clear")
	}
	path := subs + "/" + itoa(created.Id)
	r := f.internal("GET", path, nil)
	if r.Status != 200 || strings.Contains(string(r.Body), created.Secret) || strings.Contains(string(r.Body), "secret\"") {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	second := f.subscribe("http://127.0.0.1:9/other", "*")
	page1 := testkit.Decode[api.WebhookSubscriptionsResponse](t, f.internal("GET", subs+"?limit=1", nil))
	if len(page1.Data) != 1 || page1.NextCursor == nil || page1.Data[0].Id != created.Id {
		t.Fatalf("page 1: %+v", page1)
	}
	page2 := testkit.Decode[api.WebhookSubscriptionsResponse](t, f.internal("GET", subs+"?limit=1&cursor="+*page1.NextCursor, nil))
	if len(page2.Data) != 1 || page2.Data[0].Id != second.Id {
		t.Fatalf("page 2: %+v", page2)
	}

	upd := testkit.DataOf[api.WebhookSubscription](t, f.internal("PATCH", path, map[string]any{"event_types": []string{"*"}, "description": "Fraud"}))
	if strings.Join(upd.EventTypes, ",") != "*" || !testkit.Is(upd.Description, "Fraud") || upd.Url != created.Url {
		t.Fatalf("updated %+v", upd)
	}
	for _, step := range []struct{ action, status string }{{"pause", "paused"}, {"pause", "paused"}, {"resume", "active"}, {"resume", "active"}} {
		got := testkit.DataOf[api.WebhookSubscription](t, f.internal("POST", path+"/"+step.action, nil))
		if string(got.Status) != step.status {
			t.Fatalf("%s: %s", step.action, got.Status)
		}
	}
	rot := f.internal("POST", path+"/rotate-secret", map[string]any{"overlap_seconds": 3600})
	rotated := testkit.DataOf[api.WebhookSubscriptionWithSecret](t, rot)
	if rot.Code() != "WEBHOOK_SECRET_ROTATED" || rotated.Secret == created.Secret || rotated.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotate: %s", rot.Body)
	}
	if r := f.internal("DELETE", path, nil); r.Status != 200 || r.Code() != "WEBHOOK_SUBSCRIPTION_DELETED" {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := f.internal(m, path, nil); r.Status != 404 || r.Code() != "WEBHOOK_SUBSCRIPTION_NOT_FOUND" {
			t.Fatalf("%s after delete: %d %s", m, r.Status, r.Body)
		}
	}
	for _, action := range []string{"created", "updated", "paused", "resumed", "deleted"} {
		if n := f.Count("SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id = $2", "webhook.subscription."+action, itoa(created.Id)); n != 1 {
			t.Errorf("audit webhook.subscription.%s: %d rows", action, n)
		}
	}
	if n := f.Count("SELECT count(*) FROM audit_events WHERE action = 'webhook.secret.rotated' AND details::text LIKE '%whsec_%'"); n != 0 {
		t.Error("a secret reached the audit log")
	}
}

// With the allow-list off, a URL whose host is, or resolves to, a loopback, private,
// link-local, metadata or unspecified address is refused, naming the field; so are other
// schemes, user information and unknown event types.
func TestSubscriptionRefusals(t *testing.T) {
	f := keyed(testkit.New(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cases := []struct {
		url, field, rule string
		types            []string
	}{
		{"http://127.0.0.1:" + itoa(int64(port)) + "/hook", "url", "url_address", nil},
		{"http://10.0.0.1/hook", "url", "url_address", nil},
		{"http://169.254.169.254/latest/meta-data/", "url", "url_address", nil},
		{"http://localhost:" + itoa(int64(port)) + "/hook", "url", "url_address", nil}, // a name resolving to loopback
		{"http://[::1]/hook", "url", "url_address", nil},
		{"http://0.0.0.0/hook", "url", "url_address", nil},
		{"http://[fd00:ec2::254]/", "url", "url_address", nil},
		{"ftp://hooks.internal.example/x", "url", "url_http", nil},
		{"https://user:pw@hooks.internal.example/x", "url", "url_http", nil},
		{"https://hooks.internal.example/x", "event_types", "event_type", []string{"money.vanished"}},
	}
	for _, c := range cases {
		types := c.types
		if types == nil {
			types = []string{"*"}
		}
		r := f.internal("POST", subs, map[string]any{"url": c.url, "event_types": types})
		if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || r.Errors()[c.field] == nil {
			t.Errorf("%s %v: %d %s", c.url, types, r.Status, r.Body)
		}
	}
	if n := f.Count("SELECT count(*) FROM webhook_subscriptions WHERE created_by = (SELECT name FROM internal_keys ORDER BY id DESC LIMIT 1)"); n != 0 {
		t.Errorf("%d subscriptions stored", n)
	}
	// The same URL may be changed into none of these either.
	ok := f.internal("POST", subs, map[string]any{"url": "https://hooks.internal.example/x", "event_types": []string{"*"}})
	id := testkit.DataOf[api.WebhookSubscription](t, ok).Id
	if r := f.internal("PATCH", subs+"/"+itoa(id), map[string]any{"url": "http://169.254.169.254/"}); r.Status != 422 || r.Errors()["url"] == nil {
		t.Errorf("update to the metadata address: %d %s", r.Status, r.Body)
	}
}
