package identity

import (
	"net/http"
	"time"

	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/stepup"
)

// ErrInvalidCredentials is the one answer to every failed login (401 INVALID_CREDENTIALS).
var ErrInvalidCredentials = apierr.New(http.StatusUnauthorized, "INVALID_CREDENTIALS")

// ErrDeviceNotFound is 404 DEVICE_NOT_FOUND: the user has no live token for that device.
var ErrDeviceNotFound = apierr.New(http.StatusNotFound, "DEVICE_NOT_FOUND")

// Limits are the login rate limits, counted before the password check.
type Limits struct {
	PerEmailIP ratelimit.Limit
	PerIP      ratelimit.Limit
}

// Deps are the building blocks the service uses.
type Deps struct {
	Store      *pg.Store
	Hasher     *password.Hasher
	Limiter    *ratelimit.Limiter
	Sessions   *sessions.Sessions
	Challenges *challenge.Store
	StepUp     *stepup.Grants
	Clock      clock.Clock
	Limits     Limits
	// Guesses is the per-e-mail password budget (whatever the client address); Outbox sends
	// the owner's notice when it is exhausted.
	Guesses *ratelimit.Budget
	Outbox  *mail.Outbox
	// IdleTTL is the token idle lifetime: a token unused for longer is not listed nor counted.
	IdleTTL time.Duration
}

// Identity implements its operations of the generated strict interface.
type Identity struct {
	st         *pg.Store
	hasher     *password.Hasher
	limiter    *ratelimit.Limiter
	sessions   *sessions.Sessions
	challenges *challenge.Store
	stepup     *stepup.Grants
	clock      clock.Clock
	limits     Limits
	guesses    *ratelimit.Budget
	outbox     *mail.Outbox
	idle       time.Duration
}

// New builds the service.
func New(d Deps) *Identity {
	return &Identity{
		st: d.Store, hasher: d.Hasher, limiter: d.Limiter, sessions: d.Sessions,
		challenges: d.Challenges, stepup: d.StepUp, clock: d.Clock, limits: d.Limits, idle: d.IdleTTL,
		guesses: d.Guesses, outbox: d.Outbox,
	}
}
