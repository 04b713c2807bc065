package twofactor

import (
	"net/http"
	"time"

	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/stepup"
)

// Documented failures of this service.
var (
	ErrInvalidCode       = apierr.New(http.StatusForbidden, "INVALID_2FA_CODE")
	ErrAlreadyEnabled    = apierr.New(http.StatusConflict, "TWOFA_ALREADY_ENABLED")
	ErrNotEnabled        = apierr.New(http.StatusConflict, "TWOFA_NOT_ENABLED")
	ErrEnrollmentExpired = apierr.New(http.StatusGone, "TWOFA_ENROLLMENT_EXPIRED")
	ErrChallengeExpired  = apierr.New(http.StatusGone, "CHALLENGE_EXPIRED")
)

// Limits are the rate limits and the per-account failure window (DESIGN §4 defaults).
type Limits struct {
	// PerUserIP applies to enable, disable and step-up verify, keyed by user + IP.
	PerUserIP ratelimit.Limit
	// VerifyLoginPerIP applies to verify-login, keyed by IP.
	VerifyLoginPerIP ratelimit.Limit
	// MaxFailures wrong second factors per FailureWindow lock the account's second factor
	// (429) whatever the flow; a new login does not reset the count (ACCOUNT_GUESS_LIMIT,
	// ACCOUNT_GUESS_WINDOW).
	MaxFailures   int
	FailureWindow time.Duration
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		PerUserIP:        ratelimit.Per(5, time.Minute),
		VerifyLoginPerIP: ratelimit.Per(20, time.Minute),
		MaxFailures:      ratelimit.DefaultBudgetMax,
		FailureWindow:    ratelimit.DefaultBudgetWindow,
	}
}

// Deps are the collaborators of the service.
type Deps struct {
	Store      *pg.Store
	Cache      *cache.Cache
	Keys       *secrets.Keys
	Clock      clock.Clock
	Limiter    *ratelimit.Limiter
	Outbox     *mail.Outbox
	Sessions   *sessions.Sessions
	Challenges *challenge.Store
	Grants     *stepup.Grants
	Limits     Limits
}

// TwoFactor implements the 2FA operations of the generated strict interface.
type TwoFactor struct {
	st         *pg.Store
	keys       *secrets.Keys
	clock      clock.Clock
	limiter    *ratelimit.Limiter
	outbox     *mail.Outbox
	sessions   *sessions.Sessions
	challenges *challenge.Store
	grants     *stepup.Grants
	limits     Limits
	pending    *pendingStore
	// failures is the account's second-factor guessing budget, whatever the flow (login
	// challenges, step-up, enable, disable, password reset): neither a new login nor a new
	// challenge resets it.
	failures *ratelimit.Budget
}

// New builds the service.
func New(d Deps) *TwoFactor {
	return &TwoFactor{
		st: d.Store, keys: d.Keys, clock: d.Clock, limiter: d.Limiter, outbox: d.Outbox,
		sessions: d.Sessions, challenges: d.Challenges, grants: d.Grants, limits: d.Limits,
		pending:  &pendingStore{c: d.Cache, keys: d.Keys},
		failures: d.Limiter.Budget("twofa", d.Limits.MaxFailures, d.Limits.FailureWindow),
	}
}
