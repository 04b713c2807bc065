// Package egress is the HTTP client for URLs that callers configure (webhook endpoints): it
// refuses to reach loopback, private, link-local, metadata, unspecified, multicast and reserved
// addresses unless an allow-list permits them, and it checks the address it is about to connect
// to — after name resolution, on every dial — so a name that resolves to a public address when
// the URL is checked and to a private one when it is used (DNS rebinding) gets nowhere. It
// follows no redirect, uses no proxy and bounds time and response size.
package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is the error of a URL or a dial whose address the policy refuses.
var ErrForbiddenAddress = errors.New("egress: address not allowed")

// ErrHTTPSRequired is the error of an http:// URL where the policy requires https.
var ErrHTTPSRequired = errors.New("egress: https required")

// Resolver resolves a host name to its addresses (net.DefaultResolver does; tests inject answers).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says which URLs may be reached.
type Policy struct {
	// Allow lists networks reachable although the rules refuse them (local development, tests,
	// internal receivers on a private network).
	Allow []netip.Prefix
	// RequireHTTPS refuses http:// URLs (production).
	RequireHTTPS bool
	// Resolver resolves names (nil: the system resolver).
	Resolver Resolver
}

// refused are the networks no outbound call reaches unless allowed: besides what netip's
// predicates name (loopback, private, link-local, multicast, unspecified), "this network",
// shared address space (carrier-grade NAT, where some clouds put their metadata service),
// IETF protocol assignments, benchmarking, reserved and broadcast, and the IPv6 translation,
// discard and documentation prefixes that can stand for any of them.
var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// Allowed reports whether addr may be reached under p.
func (p Policy) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, a := range p.Allow {
		if a.Contains(addr) {
			return true
		}
	}
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, r := range refused {
		if r.Contains(addr) {
			return false
		}
	}
	return true
}

func (p Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// CheckURL parses raw and refuses what the client would refuse to reach: another scheme than
// http(s) (or http where https is required), user information, a fragment, an address the
// policy refuses, or a host name that resolves to one (a name that does not resolve now is
// accepted: every dial checks again).
func (p Policy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("egress: not an absolute http(s) URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if p.RequireHTTPS {
			return nil, ErrHTTPSRequired
		}
	default:
		return nil, fmt.Errorf("egress: not an absolute http(s) URL")
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !p.Allowed(a) {
			return nil, ErrForbiddenAddress
		}
		return u, nil
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := p.resolver().LookupNetIP(lctx, "ip", host)
	if err != nil {
		return u, nil // unresolvable now: every dial decides
	}
	for _, a := range addrs {
		if !p.Allowed(a) {
			return nil, ErrForbiddenAddress
		}
	}
	return u, nil
}

// Limits bound one request.
type Limits struct {
	// Timeout is the whole exchange: connecting, sending, the answer's headers and the part of
	// its body that is read.
	Timeout time.Duration
	// Conns is how many connections per host are kept open between requests (8 when 0): the
	// caller's concurrency, so that none is closed after its request and dialled again.
	Conns int
}

// Client returns an HTTP client that dials only addresses the policy allows, follows no
// redirect (a 3xx is the answer) and ignores proxy settings (a proxy would dial for us).
func (p Policy) Client(l Limits) *http.Client {
	d := &net.Dialer{Timeout: l.Timeout, Control: p.control}
	if l.Conns <= 0 {
		l.Conns = 8
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            p.dialer(d),
		TLSHandshakeTimeout:    l.Timeout,
		ResponseHeaderTimeout:  l.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           max(64, 4*l.Conns),
		MaxIdleConnsPerHost:    l.Conns,
		IdleConnTimeout:        60 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       l.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialer resolves the host itself, drops the addresses the policy refuses and dials the others
// in turn; d's Control checks the address once more on the socket, just before connect.
func (p Policy) dialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else if addrs, err = p.resolver().LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		var lastErr error = ErrForbiddenAddress
		for _, a := range addrs {
			if !p.Allowed(a) {
				continue
			}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			lastErr = err
		}
		return nil, lastErr
	}
}

// control refuses a connection to an address the policy refuses; it runs on the socket after
// resolution and before connect, so whatever resolved the name, the dialed IP is the one judged.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !p.Allowed(ap.Addr()) {
		return ErrForbiddenAddress
	}
	return nil
}

// ReadAtMost reads up to n bytes of r, then discards at most drain more bytes (so a small answer
// lets the connection be reused, and a huge one costs no more than n+drain bytes).
func ReadAtMost(r io.Reader, n, drain int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, n))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, drain))
	return b
}

// Outcome names why an exchange failed, for logs and delivery records: "timeout",
// "address_refused", "connection_error".
func Outcome(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "address_refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	}
	return "connection_error"
}
