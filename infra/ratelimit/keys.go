package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"

	"github.com/flowxi/backend/kit/reqctx"
)

// Network is the unit a per-address limit counts: an IPv4 address (/32), or the /64 of an
// IPv6 address — one subscriber's allocation, whose addresses cost an attacker nothing to
// rotate. An IPv4-mapped IPv6 address counts as its IPv4 address. This is the one place that
// decides it; challenge binding still compares full addresses.
func Network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// ClientKey is the key of a per-address limit: parts (e.g. an e-mail digest or a user id)
// followed by the network of the request's client IP.
func ClientKey(ctx context.Context, parts ...string) string {
	return strings.Join(append(parts, Network(reqctx.From(ctx).IP)), "|")
}

// Digest is a short fixed-length digest of parts, for keys that must not hold an e-mail
// address in clear (and stay bounded in length).
func Digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}
