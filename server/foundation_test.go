package server_test

import (
	"strings"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestHealthIsLocalized(t *testing.T) {
	env := testkit.New(t)
	fr := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health"})
	en := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health", Headers: map[string]string{"X-App-Locale": "en"}})
	if fr.Status != 200 || en.Status != 200 {
		t.Fatalf("status fr=%d en=%d", fr.Status, en.Status)
	}
	if fr.Code() != "HEALTH_OK" || en.Code() != fr.Code() {
		t.Fatalf("codes %q %q", fr.Code(), en.Code())
	}
	if fr.Message() != "Le service fonctionne." || en.Message() != "Service is healthy." {
		t.Fatalf("messages %q / %q", fr.Message(), en.Message())
	}
	if fr.Header.Get("Content-Language") != "fr" || en.Header.Get("Content-Language") != "en" {
		t.Fatalf("content-language %q %q", fr.Header.Get("Content-Language"), en.Header.Get("Content-Language"))
	}
	if fr.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}
}

func TestHealthReportsRedisDown(t *testing.T) {
	env := testkit.New(t, func(c *config.Config) { c.RedisURL = "redis://127.0.0.1:1/0" })
	r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health"})
	if r.Status != 503 || r.Code() != "SERVICE_UNAVAILABLE" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	checks := testkit.Decode[api.HealthResponse](t, r).Checks
	if checks.Postgres != "ok" || checks.Redis != "fail" {
		t.Fatalf("checks %+v", checks)
	}
}

func TestRequestRejections(t *testing.T) {
	env := testkit.New(t)
	before := rowCounts(t, env)
	login := map[string]any{"email": "ada@example.com", "password": "secret-password", "device_type": "ios", "device_name": "iPhone"}
	cases := []struct {
		name   string
		req    testkit.Req
		status int
		code   string
		fields []string
	}{
		{"missing device_id", testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: login}, 422, "VALIDATION_FAILED", []string{"device_id"}},
		{"bad email and empty device", testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{"email": "not-an-email", "password": "x", "device_id": "", "device_type": "ios", "device_name": "n"}}, 422, "VALIDATION_FAILED", []string{"device_id", "email"}},
		{"wrong type", testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{"email": 5, "password": "x", "device_id": "d", "device_type": "ios", "device_name": "n"}}, 422, "VALIDATION_FAILED", []string{"email"}},
		{"garbage json", testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Raw: []byte(`{"email": `), Type: "application/json"}, 400, "MALFORMED_REQUEST", nil},
		{"wrong content type", testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Raw: []byte(`email=a`), Type: "text/plain"}, 400, "MALFORMED_REQUEST", nil},
		{"no body", testkit.Req{Method: "POST", Path: "/api/v1/auth/login"}, 422, "VALIDATION_FAILED", []string{"body"}},
		{"2 MiB body", testkit.Req{Method: "POST", Path: "/api/v1/auth/login", Raw: []byte(`{"email":"` + strings.Repeat("a", 2<<20) + `"}`), Type: "application/json"}, 413, "PAYLOAD_TOO_LARGE", nil},
		{"unknown route", testkit.Req{Method: "GET", Path: "/api/v1/nope"}, 404, "NOT_FOUND", nil},
		{"wrong method", testkit.Req{Method: "DELETE", Path: "/api/v1/health"}, 405, "METHOD_NOT_ALLOWED", nil},
		{"no token", testkit.Req{Method: "GET", Path: "/api/v1/me"}, 401, "UNAUTHENTICATED", nil},
		{"malformed token", testkit.Req{Method: "GET", Path: "/api/v1/me", Token: "garbage"}, 401, "UNAUTHENTICATED", nil},
		{"unknown token", testkit.Req{Method: "GET", Path: "/api/v1/me", Token: "999|" + strings.Repeat("a", 40)}, 401, "UNAUTHENTICATED", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []string{"fr", "en"} {
				tc.req.Headers = map[string]string{"X-App-Locale": lang}
				r := env.Do(tc.req)
				if r.Status != tc.status || r.Code() != tc.code {
					t.Fatalf("%s: got %d %s", lang, r.Status, r.Body)
				}
				body := testkit.Decode[api.ValidationError](t, r)
				if ptr.Value(body.RequestId) == "" {
					t.Fatalf("no request_id: %s", r.Body)
				}
				for _, f := range tc.fields {
					msgs := body.Errors[f]
					if len(msgs) == 0 {
						t.Fatalf("%s: no errors.%s in %s", lang, f, r.Body)
					}
					m := msgs[0]
					if lang == "fr" && !strings.Contains(m, "champ") && !strings.Contains(m, "corps") {
						t.Fatalf("fr message not French: %q", m)
					}
					if lang == "en" && strings.Contains(m, "champ") {
						t.Fatalf("en message not English: %q", m)
					}
					if !strings.Contains(m, f) && f != "body" {
						t.Fatalf("message %q does not name the field %q", m, f)
					}
				}
				if len(body.Errors) != len(tc.fields) {
					t.Fatalf("%s: errors %v, want fields %v", lang, body.Errors, tc.fields)
				}
			}
		})
	}
	for table, n := range rowCounts(t, env) {
		if before[table] != n {
			t.Errorf("rejected requests changed %s: %d -> %d rows", table, before[table], n)
		}
	}
}

func TestValidationNeverEchoesValues(t *testing.T) {
	env := testkit.New(t)
	secret := "hunter2-SECRET-VALUE"
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{"email": secret, "password": 12, "device_id": "d", "device_type": "t", "device_name": "n"}})
	if r.Status != 422 || strings.Contains(string(r.Body), secret) {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
}

func TestAcceptLanguageOrderDecides(t *testing.T) {
	env := testkit.New(t)
	for header, want := range map[string]string{"en-US,en;q=0.9": "en", "fr-FR,fr;q=0.8": "fr", "es,pt;q=0.9": "fr", "es, en_GB;q=0.1, fr": "en"} {
		r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health", Headers: map[string]string{"Accept-Language": header}})
		if r.Header.Get("Content-Language") != want {
			t.Errorf("%q: got %q, want %q", header, r.Header.Get("Content-Language"), want)
		}
	}
	r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health", Headers: map[string]string{"Accept-Language": "en", "X-App-Locale": "fr"}})
	if r.Header.Get("Content-Language") != "fr" {
		t.Errorf("X-App-Locale must win")
	}
}

func TestAuthenticatedRequestUsesUserLocale(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser(testkit.WithLocale("en"))
	r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	if r.Status != 200 || r.Code() != "TWOFA_STATUS" || r.Message() != "2FA is disabled." {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	// No header chose a language: the user's locale applies once authenticated.
	if r.Header.Get("Content-Language") != "en" {
		t.Fatalf("user locale not applied: %q", r.Header.Get("Content-Language"))
	}
	// A tampered secret is refused.
	bad := u.Token[:len(u.Token)-1] + "x"
	if u.Token[len(u.Token)-1] == 'x' {
		bad = u.Token[:len(u.Token)-1] + "y"
	}
	if r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: bad}); r.Status != 401 {
		t.Fatalf("tampered token: %d", r.Status)
	}
}
