package events_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a server whose mail reaches a real SMTP server, an internal key with every ledger
// and compliance scope (the actions), and one with events:read (the feed).
type fixture struct {
	*testkit.Money
	mb   *testkit.Mailbox
	feed string // internal key with events:read
}

func newFixture(t testing.TB, adjust ...func(*config.Config)) *fixture {
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, append([]func(*config.Config){mb.Use}, adjust...)...)
	return &fixture{Money: testkit.NewMoney(env, "compliance:*", ledger.ScopeDeposit, ledger.ScopeWithdraw, ledger.ScopeAdmin),
		mb: mb, feed: env.CreateInternalKey("feed-"+testkit.RandomHex(4), events.ScopeRead)}
}

// internal calls the internal API with the actions' key (and a fresh Idempotency-Key).
func (f *fixture) internal(method, path string, body any) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body,
		Headers: map[string]string{"X-Internal-Key": f.Key, "Idempotency-Key": testkit.RandomHex(8)}})
}

// user calls the user API with u's token.
func (f *fixture) user(u testkit.User, method, path string, body any) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body, Token: u.Token})
}

// stored is a feed event read back: the envelope, and the payload as the union decodes it.
type stored struct {
	ID      int64  `json:"id"`
	Type    string `json:"type"`
	Version int    `json:"version"`
	Subject struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"subject"`
	UserID int64           `json:"user_id"`
	Data   json.RawMessage `json:"data"`
	typed  any             // the generated <Type>Event the discriminator picks
}

// page reads one page of the feed with key (query: after, types, limit as given).
func (f *fixture) page(key string, q url.Values) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: "GET", Path: "/api/v1/internal/events?" + q.Encode(), Headers: map[string]string{"X-Internal-Key": key}})
}

// since reads every event after cursor (types: a filter, or none), page by page, and returns
// them with the last cursor. Every page is validated against the spec by the harness, so
// every payload is valid against its type's schema.
func (f *fixture) since(cursor string, types string) ([]stored, string) {
	f.T.Helper()
	var out []stored
	for {
		q := url.Values{"limit": {"7"}}
		if cursor != "" {
			q.Set("after", cursor)
		}
		if types != "" {
			q.Set("types", types)
		}
		r := f.page(f.feed, q)
		if r.Status != 200 || r.Code() != "EVENTS_OK" {
			f.T.Fatalf("feed: %d %s", r.Status, r.Body)
		}
		p := testkit.Decode[api.EventsPage](f.T, r)
		for _, e := range p.Data {
			out = append(out, decodeEvent(f.T, e))
		}
		cursor = p.NextCursor
		if !p.HasMore {
			return out, cursor
		}
	}
}

func decodeEvent(t testing.TB, e api.Event) stored {
	t.Helper()
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.typed, err = e.ValueByDiscriminator(); err != nil {
		t.Fatalf("event %s: %v", b, err)
	}
	return s
}

// settle positions every committed event and returns the feed's head.
func (f *fixture) settle() string {
	f.T.Helper()
	f.SettleEvents()
	var seq int64
	f.Scan("SELECT seq FROM event_feed_head WHERE id = 1", nil, &seq)
	return strconv.FormatInt(seq, 10)
}

// failCommitsWith makes every transaction that writes an event of type t fail at its commit
// (a deferred constraint trigger), after the event was written: the rolled-back change. The
// returned func removes it.
func (f *fixture) failCommitsWith(t events.Type) func() {
	f.T.Helper()
	f.ExecSQL(`CREATE OR REPLACE FUNCTION events_test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.type = TG_ARGV[0] THEN RAISE EXCEPTION 'test: the commit of % fails', NEW.type; END IF;
			RETURN NULL;
		END $$`)
	f.ExecSQL(fmt.Sprintf(`CREATE CONSTRAINT TRIGGER events_test_fail_commit AFTER INSERT ON events
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION events_test_fail_commit('%s')`, t))
	return func() { f.ExecSQL(`DROP TRIGGER events_test_fail_commit ON events`) }
}
