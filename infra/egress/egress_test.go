package egress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	cases := []struct {
		addr  string
		allow []netip.Prefix
		want  bool
	}{
		{"93.184.216.34", nil, true},
		{"2606:4700::1111", nil, true},
		{"127.0.0.1", nil, false},
		{"127.8.9.10", nil, false},
		{"::1", nil, false},
		{"10.0.0.1", nil, false},
		{"172.16.5.4", nil, false},
		{"192.168.1.1", nil, false},
		{"fd00:ec2::254", nil, false}, // AWS metadata over IPv6 (unique local)
		{"169.254.169.254", nil, false},
		{"fe80::1", nil, false},
		{"0.0.0.0", nil, false},
		{"::", nil, false},
		{"100.100.100.200", nil, false}, // Alibaba metadata (shared address space)
		{"224.0.0.1", nil, false},
		{"255.255.255.255", nil, false},
		{"::ffff:127.0.0.1", nil, false}, // IPv4-mapped loopback
		{"::ffff:10.0.0.1", nil, false},
		{"64:ff9b::a00:1", nil, false}, // NAT64 of 10.0.0.1
		{"127.0.0.1", loopback, true},
		{"::ffff:127.0.0.1", loopback, true},
		{"127.0.0.2", loopback, false},
	}
	for _, c := range cases {
		if got := (Policy{Allow: c.allow}).Allowed(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Allowed(%s, allow %v) = %v, want %v", c.addr, c.allow, got, c.want)
		}
	}
}

// answers is a resolver whose answers for a name change from one lookup to the next.
type answers struct {
	mu    sync.Mutex
	names map[string][]string
	calls map[string]int
}

func (a *answers) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	list, ok := a.names[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	i := min(a.calls[host], len(list)-1)
	a.calls[host]++
	return []netip.Addr{netip.MustParseAddr(list[i])}, nil
}

func TestCheckURL(t *testing.T) {
	res := &answers{names: map[string][]string{"private.test": {"10.0.0.1"}, "public.test": {"93.184.216.34"}, "local.test": {"127.0.0.1"}}, calls: map[string]int{}}
	p := Policy{Resolver: res}
	prod := Policy{Resolver: res, RequireHTTPS: true}
	allow := Policy{Resolver: res, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	cases := []struct {
		p    Policy
		raw  string
		want error // nil: accepted; errAny: some refusal
	}{
		{p, "https://public.test/hook", nil},
		{p, "http://public.test/hook", nil},
		{prod, "http://public.test/hook", ErrHTTPSRequired},
		{prod, "https://public.test/hook", nil},
		{p, "https://unknown.test/hook", nil}, // no answer now: the dial decides
		{p, "http://127.0.0.1:8080/hook", ErrForbiddenAddress},
		{p, "http://10.0.0.1/hook", ErrForbiddenAddress},
		{p, "http://169.254.169.254/latest/meta-data/", ErrForbiddenAddress},
		{p, "http://[::1]/hook", ErrForbiddenAddress},
		{p, "http://0.0.0.0/hook", ErrForbiddenAddress},
		{p, "https://private.test/hook", ErrForbiddenAddress},
		{p, "https://local.test/hook", ErrForbiddenAddress},
		{allow, "http://local.test:9/hook", nil},
		{allow, "http://127.0.0.1:9/hook", nil},
		{allow, "http://10.0.0.1/hook", ErrForbiddenAddress},
		{p, "ftp://public.test/x", errAny},
		{p, "https://user:pw@public.test/x", errAny},
		{p, "https://public.test/x#frag", errAny},
		{p, "/relative", errAny},
		{p, "https://", errAny},
	}
	for _, c := range cases {
		_, err := c.p.CheckURL(context.Background(), c.raw)
		switch {
		case c.want == nil && err != nil, c.want != nil && err == nil:
			t.Errorf("CheckURL(%q) = %v, want %v", c.raw, err, c.want)
		case c.want != nil && c.want != errAny && !errors.Is(err, c.want):
			t.Errorf("CheckURL(%q) = %v, want %v", c.raw, err, c.want)
		}
	}
}

var errAny = errors.New("any refusal")

// A name that resolves to a public address when the URL is checked and to a private one when it
// is dialed (DNS rebinding) is refused at the dial: no connection is attempted.
func TestDialRefusesRebinding(t *testing.T) {
	res := &answers{names: map[string][]string{"rebind.test": {"93.184.216.34", "10.0.0.1"}}, calls: map[string]int{}}
	p := Policy{Resolver: res}
	if _, err := p.CheckURL(context.Background(), "http://rebind.test/hook"); err != nil {
		t.Fatalf("check while it resolves to a public address: %v", err)
	}
	_, err := p.Client(Limits{Timeout: 2 * time.Second}).Get("http://rebind.test/hook")
	if !errors.Is(err, ErrForbiddenAddress) || Outcome(err) != "address_refused" {
		t.Fatalf("dial after rebinding to 10.0.0.1: %v", err)
	}
}

// The socket-level check judges the address being connected to, whatever resolved it.
func TestControlJudgesTheDialedAddress(t *testing.T) {
	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	for addr, want := range map[string]bool{"127.0.0.1:80": true, "10.0.0.1:443": false, "169.254.169.254:80": false, "[::1]:80": false, "[fe80::1%eth0]:80": false, "nonsense": false} {
		if err := p.control("tcp", addr, nil); (err == nil) != want {
			t.Errorf("control(%s) = %v, want allowed %v", addr, err, want)
		}
	}
}

// A real receiver on 127.0.0.1: refused with the allow-list off, reached with it on, through a
// name as well as the literal address; redirects are not followed and answers are read only up
// to the bound.
func TestClientReachesOnlyAllowedReceivers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	res := &answers{names: map[string][]string{"receiver.test": {"127.0.0.1"}}, calls: map[string]int{}}
	off := Policy{Resolver: res}
	on := Policy{Resolver: res, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	for _, u := range []string{srv.URL, "http://receiver.test:" + port} {
		if _, err := off.Client(Limits{Timeout: 2 * time.Second}).Get(u); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("allow-list off, %s: %v", u, err)
		}
		r, err := on.Client(Limits{Timeout: 2 * time.Second}).Get(u)
		if err != nil {
			t.Fatalf("allow-list on, %s: %v", u, err)
		}
		if b := ReadAtMost(r.Body, 1024, 1024); len(b) != 1024 {
			t.Errorf("read %d bytes, want 1024", len(b))
		}
		r.Body.Close()
	}
	r, err := on.Client(Limits{Timeout: 2 * time.Second}).Get(srv.URL + "/redirect")
	if err != nil || r.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %v %v", r, err)
	}
	r.Body.Close()
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	_, err := p.Client(Limits{Timeout: 200 * time.Millisecond}).Get(srv.URL)
	if err == nil || Outcome(err) != "timeout" {
		t.Fatalf("slow receiver: %v (%s)", err, Outcome(err))
	}
}
