package privacy

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
)

// LinkTTL is how long the signed links of an export (photo, documents) live.
const LinkTTL = 15 * time.Minute

// DefaultRetention is ERASURE_RETENTION's default: how long after its closure an account keeps
// its non-financial personal data.
const DefaultRetention = 30 * 24 * time.Hour

// ObjectStore is what the export needs from object storage: short-lived links.
type ObjectStore interface {
	SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// StepUp is the step-up check (services/identity/stepup): a 2FA user's token needs a live window.
type StepUp interface {
	Require(ctx context.Context, tokenID int64, twofaEnabled bool) error
}

// Deletions queues storage objects for deletion in the transaction that stops referring to them,
// and deletes them once it has committed (infra/blob/deletions).
type Deletions interface {
	Schedule(ctx context.Context, q *db.Queries, key string) error
	DeleteNow(ctx context.Context, key string)
}

// Deps are the service's dependencies.
type Deps struct {
	Store     *pg.Store
	Objects   ObjectStore
	StepUp    StepUp
	Deletions Deletions
	Clock     clock.Clock
	Log       *slog.Logger
	// Retention is how long a closed account keeps its personal data (0: DefaultRetention);
	// Every is how often the eraser looks for due accounts (0: a minute).
	Retention time.Duration
	Every     time.Duration
}

// Privacy implements the export operations of the strict interface.
type Privacy struct {
	st      *pg.Store
	objects ObjectStore
	stepup  StepUp
	clock   clock.Clock
}

// New builds the export service.
func New(d Deps) *Privacy {
	return &Privacy{st: d.Store, objects: d.Objects, stepup: d.StepUp, clock: d.Clock}
}
