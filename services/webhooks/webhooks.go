// Package webhooks delivers the domain events (services/events) to the HTTP endpoints internal
// services subscribe (tag "Internal webhooks" of openapi.yaml): the subscriptions API, the
// fan-out that queues one delivery per (subscription, event) with its River job, and the
// worker that signs and sends each one, at least once, in order per subject.
package webhooks

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/infra/egress"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/sema"
)

// Scope is the internal-key scope of every operation of the tag (the spec's security
// requirements say so; keys are created with it by `flowxi internal-key create`).
const Scope = "webhooks:admin"

// Queue is the River queue of the deliveries.
const Queue = "webhooks"

// jobAttempts is the River MaxAttempts of the deliveries' jobs: so many that River's count stays
// out of the way, a delivery's attempts being bounded by time (WEBHOOK_RETRY_FOR) and a batch's
// retried for as long.
const jobAttempts = 10000

// Errors of the service.
var (
	ErrNotFound      = apierr.New(http.StatusNotFound, "WEBHOOK_SUBSCRIPTION_NOT_FOUND")
	ErrEventNotFound = apierr.New(http.StatusNotFound, "WEBHOOK_EVENT_NOT_FOUND")
)

// Defaults of Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryFor     = 72 * time.Hour
	DefaultDisableAfter = 72 * time.Hour
	DefaultFanoutEvery  = 100 * time.Millisecond
	DefaultWorkers      = 64
	// retryBase and retryCap shape the backoff: 5 s, 10 s, 20 s, … then every hour.
	retryBase = 5 * time.Second
	retryCap  = time.Hour
	// ExcerptBytes is how much of an answer's body the delivery log keeps.
	ExcerptBytes = 1024
	// maxRedeliver bounds one redelivery request.
	maxRedeliver = 10000
	// fanoutPage is how many feed positions one fan-out transaction covers.
	fanoutPage = 500
)

// Options are the configured numbers (zero: the defaults).
type Options struct {
	// Timeout bounds one exchange with a receiver (WEBHOOK_TIMEOUT).
	Timeout time.Duration
	// RetryFor is how long after its first attempt a delivery is retried (WEBHOOK_RETRY_FOR).
	RetryFor time.Duration
	// DisableAfter is how long a subscription may fail without a success before the server
	// disables it (WEBHOOK_DISABLE_AFTER).
	DisableAfter time.Duration
	// FanoutEvery is how often the fan-out looks for new events in the feed.
	FanoutEvery time.Duration
	// Workers is how many deliveries one instance sends at once (WEBHOOK_WORKERS), whatever
	// the jobs (batches, retries) they belong to; as many connections per receiver are kept
	// open between deliveries.
	Workers int
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryFor <= 0 {
		o.RetryFor = DefaultRetryFor
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = DefaultDisableAfter
	}
	if o.FanoutEvery <= 0 {
		o.FanoutEvery = DefaultFanoutEvery
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	return o
}

// Deps are the service's dependencies.
type Deps struct {
	Store *pg.Store
	Jobs  *jobs.Jobs
	Keys  *secrets.Keys
	Clock clock.Clock
	Log   *slog.Logger
	// Egress says which URLs may be reached (the allow-list, https in production).
	Egress egress.Policy
	// KnownType reports an event type subscriptions may name (events.Known).
	KnownType func(string) bool
	Options   Options
}

// Webhooks implements the Internal webhooks operations, the fan-out and the delivery worker.
type Webhooks struct {
	st     *pg.Store
	jobs   *jobs.Jobs
	keys   *secrets.Keys
	clock  clock.Clock
	log    *slog.Logger
	egress egress.Policy
	client *http.Client
	// slots bounds the exchanges in flight to Options.Workers (send).
	slots sema.Sema
	known func(string) bool
	opt   Options
}

// New builds the service.
func New(d Deps) *Webhooks {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.KnownType == nil {
		d.KnownType = func(string) bool { return true }
	}
	o := d.Options.withDefaults()
	return &Webhooks{st: d.Store, jobs: d.Jobs, keys: d.Keys, clock: d.Clock, log: d.Log.With("component", "webhooks"),
		egress: d.Egress, client: d.Egress.Client(egress.Limits{Timeout: o.Timeout, Conns: o.Workers}), slots: sema.New(o.Workers),
		known: d.KnownType, opt: o}
}

// Register adds the delivery worker and its queue to the River client (app/compose.go).
func (s *Webhooks) Register() {
	// River fetches a queue's jobs at most once per cooldown. Batches (batch.go) come a few per
	// fan-out (every 100 ms), so 50 ms adds little to their lag; a 10 ms cooldown made the
	// fetches River's largest cost under load (a sixth of the process's CPU in the benchmark).
	q := jobs.Queue{Name: Queue, Workers: s.opt.Workers, FetchCooldown: 50 * time.Millisecond}
	jobs.Register(s.jobs, q, &deliverer{s: s})
	jobs.Register(s.jobs, q, &batcher{s: s})
}

// sealAAD binds a sealed secret to its subscription (a secret copied to another row does not open).
func sealAAD(id int64) []byte { return []byte("webhook-secret:" + strconv.FormatInt(id, 10)) }
