// Package reqctx carries per-request facts (client IP, User-Agent, request id, the authenticated
// principal) from the HTTP layer to services without services importing Echo.
package reqctx

import (
	"context"
	"errors"
)

// Principal is the authenticated caller of a bearer-protected operation.
type Principal struct {
	UserID   int64
	TokenID  int64
	DeviceID string
	Locale   string
	// TwofaEnabled is the user's 2FA flag as read with the token, in this request.
	TwofaEnabled bool
}

// Info is what the HTTP layer knows about a request.
type Info struct {
	IP        string
	UserAgent string
	RequestID string
	// Accept is the request's Accept header (its lines joined by commas), for the operations
	// that answer in several media types.
	Accept    string
	Principal *Principal
	// InternalKey is set when an internal API key authenticated the request.
	InternalKey *InternalKey
}

// MaxUserAgent is how many bytes of the User-Agent header are stored (with a token, in the audit rows
// the ledger writes).
const MaxUserAgent = 512

// StoredUserAgent is the User-Agent cut to MaxUserAgent bytes.
func (i *Info) StoredUserAgent() string {
	if len(i.UserAgent) > MaxUserAgent {
		return i.UserAgent[:MaxUserAgent]
	}
	return i.UserAgent
}

// InternalKey is the authenticated internal caller.
type InternalKey struct {
	ID     int64
	Name   string
	Scopes []string
}

type key struct{}

// With returns a context holding info. The pointer is shared so later middleware (e.g.
// authentication inside the validator) can fill in the principal.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request info, or an empty one outside a request.
func From(ctx context.Context) *Info {
	if i, ok := ctx.Value(key{}).(*Info); ok {
		return i
	}
	return &Info{}
}

// Principal returns the authenticated user, or nil.
func PrincipalFrom(ctx context.Context) *Principal { return From(ctx).Principal }

// Caller is the authenticated user of an operation whose spec requires bearerAuth. The server's
// authentication middleware, driven by the spec, refuses such a request with 401 before any
// service runs, so its absence here is a wiring bug, never a client's doing: Caller panics (the
// server's recoverer answers 500 and logs it) rather than run the operation as nobody. One home
// for "who is calling", instead of a nil check in every handler.
func Caller(ctx context.Context) *Principal {
	if p := From(ctx).Principal; p != nil {
		return p
	}
	panic(ErrNoCaller)
}

// ErrNoCaller is what Caller panics with outside an authenticated request.
var ErrNoCaller = errors.New("reqctx: no authenticated caller: the operation is not behind bearerAuth in the spec, or the middleware was bypassed")
