package compliance

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/sema"
)

// DocumentURLTTL is how long a reviewer's signed document URL lives.
const DocumentURLTTL = 5 * time.Minute

// Errors of the compliance service.
var (
	ErrKYCRequired        = apierr.New(http.StatusForbidden, "KYC_REQUIRED")
	ErrRestricted         = apierr.New(http.StatusForbidden, "ACCOUNT_RESTRICTED")
	ErrCaseNotFound       = apierr.New(http.StatusNotFound, "CASE_NOT_FOUND")
	ErrRestrictionMissing = apierr.New(http.StatusNotFound, "RESTRICTION_NOT_FOUND")
	ErrInvalidTransition  = apierr.New(http.StatusConflict, "INVALID_STATE_TRANSITION")
	ErrIncomplete         = apierr.New(http.StatusConflict, "CASE_INCOMPLETE")
	ErrNotEditable        = apierr.New(http.StatusConflict, "CASE_NOT_EDITABLE")
	ErrNotApplicable      = apierr.New(http.StatusConflict, "CASE_NOT_APPLICABLE")
	ErrTypeLocked         = apierr.New(http.StatusConflict, "ACCOUNT_TYPE_LOCKED")
	ErrNotEmpty           = apierr.New(http.StatusConflict, "ACCOUNT_NOT_EMPTY")
)

// ObjectStore is what the service needs from object storage (infra/blob implements it);
// documents are written and deleted through the deletions queue.
type ObjectStore interface {
	SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Deps are the service's dependencies.
type Deps struct {
	Store   *pg.Store
	Objects ObjectStore
	// Deletions makes an uploaded object that no row came to refer to get deleted, whatever fails.
	Deletions *deletions.Queue
	Clock     clock.Clock
	Outbox    *mail.Outbox
	Log       *slog.Logger
	// Limiter and Limits cap the documents one account can upload (zero Limits: the defaults).
	Limiter *ratelimit.Limiter
	Limits  Limits
}

// Compliance implements the compliance operations of the strict interface and the ledger's send
// policy.
type Compliance struct {
	st      *pg.Store
	objects ObjectStore
	dels    *deletions.Queue
	clock   clock.Clock
	outbox  *mail.Outbox
	log     *slog.Logger
	limiter *ratelimit.Limiter
	limits  Limits
	// decodes bounds concurrent full image decodes (CPU and memory heavy).
	decodes sema.Sema
}

// New builds the service.
func New(d Deps) *Compliance {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Compliance{st: d.Store, objects: d.Objects, dels: d.Deletions, clock: d.Clock, outbox: d.Outbox, log: d.Log,
		limiter: d.Limiter, limits: d.Limits.withDefaults(), decodes: sema.New(2)}
}

// timeNow is a clock reading passed to helpers that need the time.
type timeNow func() time.Time
