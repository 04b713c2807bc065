package webhooks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/webhooks"
	"github.com/flowxi/backend/testkit"
)

// vectorsFile holds real deliveries of this server, checked by the TypeScript client's
// verifyWebhook with Node's crypto (clients/typescript/test/webhooks.test.ts): an independent
// implementation of the recipe in openapi.yaml.
var vectorsFile = filepath.Join("..", "..", "clients", "typescript", "test", "fixtures", "webhook-deliveries.json")

// vector is one delivery as the receiver got it, with the secrets that signed it.
type vector struct {
	Name    string            `json:"name"`
	Secrets []string          `json:"secrets"` // every secret that must verify it
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// The committed vectors are what this server's signer produces: re-signing each body at its
// timestamp with its secrets gives its header again, and the Go recipe (Verify) accepts it.
// UPDATE_WEBHOOK_VECTORS=1 records fresh ones from real deliveries (a plain delivery, and one
// during a rotation's overlap, signed by both secrets).
func TestSignatureVectorsForTheTypeScriptClient(t *testing.T) {
	if os.Getenv("UPDATE_WEBHOOK_VECTORS") != "" {
		recordVectors(t)
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("%v (UPDATE_WEBHOOK_VECTORS=1 records them)", err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil || len(vs) < 2 {
		t.Fatalf("vectors: %v (%d)", err, len(vs))
	}
	for _, v := range vs {
		sig := v.Headers[webhooks.HeaderSignature]
		ts, err := strconv.ParseInt(strings.TrimPrefix(strings.Split(sig, ",")[0], "t="), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q", v.Name, sig)
		}
		at := time.Unix(ts, 0)
		if again := webhooks.Sign(at, []byte(v.Body), v.Secrets...); again != sig {
			t.Errorf("%s: the signer now gives %q for %q", v.Name, again, sig)
		}
		for _, s := range v.Secrets {
			if err := webhooks.Verify(s, sig, []byte(v.Body), at.Add(time.Minute)); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
		if err := webhooks.Verify(v.Secrets[0], sig, []byte(v.Body), at.Add(webhooks.ReplayWindow+time.Second)); err != webhooks.ErrSignatureStale {
			t.Errorf("%s, stale: %v", v.Name, err)
		}
	}
}

func recordVectors(t *testing.T) {
	f := newFixture(t)
	rcv := f.receiver()
	sub := f.subscribe(rcv.URL, "*")
	f.emit(events.WalletStatusChanged, "wallet", "vector-1")
	first := rcv.waitFor(t, 1)[0]
	r := f.internal("POST", subs+"/"+itoa(sub.Id)+"/rotate-secret", map[string]any{"overlap_seconds": 3600})
	rotated := testkit.DataOf[api.WebhookSubscriptionWithSecret](t, r)
	f.emit(events.WalletStatusChanged, "wallet", "vector-2")
	second := rcv.waitFor(t, 2)[1]
	keep := func(name string, d delivery, secrets ...string) vector {
		h := map[string]string{}
		for _, k := range []string{webhooks.HeaderSignature, webhooks.HeaderEventID, webhooks.HeaderEventType, webhooks.HeaderAttempt, "Content-Type"} {
			h[k] = d.header.Get(k)
		}
		return vector{Name: name, Secrets: secrets, Headers: h, Body: string(d.body)}
	}
	vs := []vector{keep("one secret", first, sub.Secret), keep("rotation overlap", second, rotated.Secret, sub.Secret)}
	b, _ := json.MarshalIndent(vs, "", "  ")
	if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
