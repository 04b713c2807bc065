package app_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestMetricsAndProbes(t *testing.T) {
	env := testkit.New(t)
	env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health"})
	env.Do(testkit.Req{Method: "GET", Path: "/api/v1/unknown/route"})
	ops := httptest.NewServer(env.OpsHandler())
	defer ops.Close()
	res, err := ops.Client().Get(ops.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := string(b)
	for _, want := range []string{`flowxi_http_request_duration_seconds_count{method="GET",operation="Health",status="200"}`, `operation="none",status="404"`, "flowxi_mail_outbox_pending"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for path, want := range map[string]int{"/livez": 200, "/readyz": 200} {
		res, err := ops.Client().Get(ops.URL + path)
		if err != nil || res.StatusCode != want {
			t.Fatalf("%s: %v %v", path, err, res)
		}
	}
	// The public API does not expose metrics.
	if r := env.Do(testkit.Req{Method: "GET", Path: "/metrics"}); r.Status != 404 {
		t.Fatalf("/metrics on the API port: %d", r.Status)
	}
}
