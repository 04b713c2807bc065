package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/server"
)

// bare builds the HTTP layer alone with a probe route that echoes the client IP it resolved.
func bare(t *testing.T, o server.Options) *httptest.Server {
	o.API = &server.API{}
	o.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	o.Extra = func(e *echo.Echo) {
		e.GET("/probe/ip", func(c echo.Context) error { return c.String(200, reqctx.From(c.Request().Context()).IP) })
	}
	e, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(e)
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, url string, h map[string]string) *http.Response {
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func body(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return string(b)
}

func TestClientIPIgnoresForwardingHeadersUnlessProxyTrusted(t *testing.T) {
	spoof := map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Real-Ip": "203.0.113.10"}
	direct := bare(t, server.Options{})
	if ip := body(get(t, direct.URL+"/probe/ip", spoof)); ip != "127.0.0.1" {
		t.Fatalf("untrusted forwarding header honoured: %q", ip)
	}
	proxied := bare(t, server.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if ip := body(get(t, proxied.URL+"/probe/ip", spoof)); ip != "203.0.113.9" {
		t.Fatalf("trusted proxy's X-Forwarded-For not used: %q", ip)
	}
	other := bare(t, server.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if ip := body(get(t, other.URL+"/probe/ip", spoof)); ip != "127.0.0.1" {
		t.Fatalf("header from a non-trusted peer honoured: %q", ip)
	}
}

func TestSecurityHeadersAndCORS(t *testing.T) {
	prod := bare(t, server.Options{Production: true, CORSOrigins: []string{"https://app.flowxi.app"}})
	res := get(t, prod.URL+"/api/v1/nope", map[string]string{"Origin": "https://app.flowxi.app"})
	body(res)
	for h, want := range map[string]string{
		"Strict-Transport-Security":   "max-age=63072000; includeSubDomains",
		"X-Content-Type-Options":      "nosniff",
		"Cache-Control":               "no-store",
		"Access-Control-Allow-Origin": "https://app.flowxi.app",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	evil := get(t, prod.URL+"/api/v1/nope", map[string]string{"Origin": "https://evil.example"})
	body(evil)
	if v := evil.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("foreign origin allowed: %q", v)
	}
	dev := bare(t, server.Options{})
	res = get(t, dev.URL+"/api/v1/nope", map[string]string{"Origin": "https://app.flowxi.app"})
	if b := body(res); !strings.Contains(b, "NOT_FOUND") || res.Header.Get("Strict-Transport-Security") != "" || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("development: %q hsts=%q cors=%q", b, res.Header.Get("Strict-Transport-Security"), res.Header.Get("Access-Control-Allow-Origin"))
	}
}
