// Package registration implements registration by e-mail OTP and by magic link, and password
// reset. Every step that writes (pending user, code or link, e-mail, activation, token, audit)
// commits in one transaction; e-mails go through the outbox in that same transaction.
package registration

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/identity/tokens"
)

// Lifetimes and bounds (DESIGN §4).
const (
	OTPTTL         = 10 * time.Minute
	OTPMaxAttempts = 5
	ResendCooldown = 60 * time.Second
	MagicLinkTTL   = 15 * time.Minute
	MagicLinkLen   = 64
)

// Code purposes (email_otps.purpose); each has its own HMAC domain.
const (
	purposeRegister = "register"
	purposeReset    = "password_reset"
)

// Domain errors of this package.
var (
	ErrEmailUsed        = apierr.New(http.StatusConflict, "EMAIL_ALREADY_USED")
	ErrEmailActive      = apierr.New(http.StatusConflict, "EMAIL_ALREADY_ACTIVE")
	ErrOTPInvalid       = apierr.New(http.StatusForbidden, "OTP_INVALID")
	ErrOTPExpired       = apierr.New(http.StatusGone, "OTP_EXPIRED")
	ErrMagicLinkInvalid = apierr.New(http.StatusGone, "MAGIC_LINK_INVALID")
)

// SecondFactor is what password reset needs from the 2FA service: whether a user has 2FA on,
// and a check of a TOTP or recovery code. Verify returns nil for a good code, an *apierr.Error
// for a refused one (e.g. INVALID_2FA_CODE, RATE_LIMITED), any other error for a failure. It is
// called inside the reset transaction, which holds a lock on the reset code row only.
type SecondFactor interface {
	Enabled(ctx context.Context, userID int64) (bool, error)
	Verify(ctx context.Context, userID int64, code string) error
}

// Limits are the rate limits of the package (DESIGN §4). Zero fields take DefaultLimits.
type Limits struct {
	SendPerEmail          ratelimit.Limit // send/resend (code or link) and forgot-password, per email
	SendPerIP             ratelimit.Limit // the same, per client IP
	VerifyPerEmail        ratelimit.Limit // OTP verify, per email
	SetPasswordPerEmailIP ratelimit.Limit // set-password (both strategies) and reset, per email+IP
}

// DefaultLimits: send/resend 3/10 min per email and 20/h per IP; verify 10/10 min per email;
// set-password 5/10 min per email+IP.
func DefaultLimits() Limits {
	return Limits{
		SendPerEmail:          ratelimit.Per(3, 10*time.Minute),
		SendPerIP:             ratelimit.Per(20, time.Hour),
		VerifyPerEmail:        ratelimit.Per(10, 10*time.Minute),
		SetPasswordPerEmailIP: ratelimit.Per(5, 10*time.Minute),
	}
}

// Deps are the service's dependencies.
type Deps struct {
	Store       *pg.Store
	Clock       clock.Clock
	Keys        *secrets.Keys
	Hasher      *password.Hasher
	Tokens      *tokens.Service
	Limiter     *ratelimit.Limiter
	Outbox      *mail.Outbox
	FrontendURL string // base of magic links
	// SecondFactor, when nil, skips the 2FA check on password reset (until 2FA is wired).
	SecondFactor SecondFactor
	Limits       Limits
	// ResetGuesses and RegisterGuesses are the per-e-mail budgets of wrong password-reset and
	// registration codes (whatever the client address, whether or not the e-mail has an
	// account); nil takes the default budget.
	ResetGuesses    *ratelimit.Budget
	RegisterGuesses *ratelimit.Budget
}

// Registration implements its operations of the generated strict interface.
type Registration struct {
	d Deps
}

// New builds the service.
func New(d Deps) *Registration {
	def := DefaultLimits()
	for _, p := range []struct{ got, def *ratelimit.Limit }{
		{&d.Limits.SendPerEmail, &def.SendPerEmail}, {&d.Limits.SendPerIP, &def.SendPerIP},
		{&d.Limits.VerifyPerEmail, &def.VerifyPerEmail}, {&d.Limits.SetPasswordPerEmailIP, &def.SetPasswordPerEmailIP},
	} {
		if p.got.Rate == 0 {
			*p.got = *p.def
		}
	}
	if d.ResetGuesses == nil {
		d.ResetGuesses = d.Limiter.Budget("pwreset.code", 0, 0)
	}
	if d.RegisterGuesses == nil {
		d.RegisterGuesses = d.Limiter.Budget("reg.code", 0, 0)
	}
	d.FrontendURL = strings.TrimRight(d.FrontendURL, "/")
	return &Registration{d: d}
}

// normEmail trims and lower-cases, before any lookup or rate-limit key (DESIGN §4).
func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// limitSend counts one send (code, link or reset code) per email and per IP. bucket keeps
// registration and reset apart.
func (s *Registration) limitSend(ctx context.Context, bucket, email string) error {
	if err := s.d.Limiter.Allow(ctx, bucket+".email", s.d.Limits.SendPerEmail, email); err != nil {
		return err
	}
	return s.d.Limiter.Allow(ctx, bucket+".ip", s.d.Limits.SendPerIP, ratelimit.ClientKey(ctx))
}

// limitSetPassword counts one set-password or reset attempt per email+IP.
func (s *Registration) limitSetPassword(ctx context.Context, bucket, email string) error {
	return s.d.Limiter.Allow(ctx, bucket, s.d.Limits.SetPasswordPerEmailIP, ratelimit.ClientKey(ctx, email))
}

// reserveGuess takes a slot in budget for one code guess on email, before anything is looked
// up. The caller releases it on success only: a refused or broken-off attempt stays counted.
func (s *Registration) reserveGuess(ctx context.Context, budget *ratelimit.Budget, email string) (*ratelimit.Slot, error) {
	return budget.Reserve(ctx, ratelimit.Digest(email), s.d.Clock.Now())
}

// tx runs fn in a transaction. A domain outcome that must still commit (a wrong code counted)
// is returned by fn through *outcome, while fn itself returns nil.
func (s *Registration) tx(ctx context.Context, fn func(q *db.Queries, outcome *error) error) error {
	var outcome error
	err := s.d.Store.Tx(ctx, func(q *db.Queries) error {
		outcome = nil
		return fn(q, &outcome)
	})
	if err != nil {
		return err
	}
	return outcome
}

// checkSetPassword normalizes the email (returned), takes the set-password rate limit, then
// applies the password policy and reads the device fields of a registration's set-password
// body, reporting every failing field at once.
func (s *Registration) checkSetPassword(ctx context.Context, rawEmail, pw, confirmation string, id, typ, name, country *string) (string, tokens.Device, error) {
	email := normEmail(rawEmail)
	if err := s.limitSetPassword(ctx, "reg.setpw", email); err != nil {
		return email, tokens.Device{}, err
	}
	var fe apierr.Fields
	password.CheckNew(&fe, pw, confirmation, email)
	d := deviceOf(&fe, id, typ, name, country)
	return email, d, fe.Err()
}

// deviceOf reads the optional device fields of a set-password body. device_id alone is not
// enough to list a device later, so type and name are required with it (and it with them).
func deviceOf(fe *apierr.Fields, id, typ, name, country *string) tokens.Device {
	d := tokens.Device{ID: ptr.Value(id), Type: ptr.Value(typ), Name: ptr.Value(name), Country: ptr.Value(country)}
	if d.ID != "" {
		if d.Type == "" {
			fe.Add("device_type", "required")
		}
		if d.Name == "" {
			fe.Add("device_name", "required")
		}
	} else if d.Type != "" || d.Name != "" {
		fe.Add("device_id", "required")
	}
	if d.ID == "" {
		d = tokens.Device{}
	}
	return d
}
