package ledger

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/retry"
	"github.com/flowxi/backend/services/identity/stepup"
)

// Errors of the ledger that record nothing.
var (
	ErrWalletNotFound   = apierr.New(http.StatusNotFound, "WALLET_NOT_FOUND")
	ErrTransferNotFound = apierr.New(http.StatusNotFound, "TRANSFER_NOT_FOUND")
	ErrHoldNotFound     = apierr.New(http.StatusNotFound, "HOLD_NOT_FOUND")
	ErrWalletExists     = apierr.New(http.StatusConflict, "WALLET_ALREADY_EXISTS")
	ErrHoldNotPending   = apierr.New(http.StatusConflict, "HOLD_NOT_PENDING")
	ErrHoldExpired      = apierr.New(http.StatusConflict, "HOLD_EXPIRED")
	ErrWalletClosed     = apierr.New(http.StatusConflict, "WALLET_CLOSED")
	ErrInProgress       = apierr.New(http.StatusConflict, "IDEMPOTENCY_IN_PROGRESS")
	ErrKeyReused        = apierr.New(http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED")
)

// ErrEngineUnavailable is 503 SERVICE_UNAVAILABLE: the posting engine is not running (stopped,
// or stopping with the item still queued), so the item was not posted.
var ErrEngineUnavailable = apierr.ErrUnavailable

// DefaultCurrencies are offered when none is configured.
var DefaultCurrencies = []string{"EUR", "XOF", "USD"}

// IdempotencyTTL is how long an Idempotency-Key and its stored outcome live.
const IdempotencyTTL = 24 * time.Hour

// DefaultWorkers is the number of posting workers when LEDGER_BATCH_WORKERS is not set: one per
// core, at least two. While a batch waits on PostgreSQL (seven statements and the commit) another
// one runs, so two keep even one core busy; more than one per core only splits the queue into
// smaller batches, whose fixed cost (the round trips, the commit) is what the engine amortizes.
// Measured on 2 cores (make bench BENCH='Ledger$'): two workers on the shared queue beat one (a
// batch runs while the next one fills) and three (smaller batches, more per-batch cost). The
// posting pool holds one connection per worker plus two (a batch retried item by item).
func DefaultWorkers() int { return max(2, runtime.NumCPU()) }

// Options configure the service.
type Options struct {
	Currencies []string // offered ISO 4217 codes
	// TransferLimit is the per-transfer maximum in major units of each currency (default 1 000 000).
	TransferLimit int64
	Workers       int // posting workers per instance, sharing one queue (default DefaultWorkers)
	MaxBatch      int // most requests in one batch (default 64)
	Policy        SendPolicy
	// SpendingLimits per tier ("personal", "business") or per currency and tier ("XOF/personal"), in
	// major units (default DefaultSpendingLimits; a tier missing here keeps its default).
	SpendingLimits map[string]Limits
	// ExpiryEvery is how often the expiry worker looks for expired holds (default 30 s).
	ExpiryEvery time.Duration
	// Log receives the background sweeps' failures (default slog.Default()).
	Log *slog.Logger
	// HistoryTx runs the wallet history's page reads (DATABASE_READ_URL: a replica within its lag
	// bound; default: the service's store). The ownership check stays on the primary.
	HistoryTx func(ctx context.Context, fn func(q *db.Queries) error) error
	// Posting is the pool the engine's batch transactions run on (default: the service's store).
	// Give it pg.KeyedAccess settings: every statement of a batch reaches rows by key.
	Posting *pg.Store
	// AuditOff skips the audit events of money movements: for the benchmark that measures their
	// cost only (config.BenchmarkLedgerAuditOff; production refuses it).
	AuditOff bool
	// EventsOff skips the domain events of money movements, likewise for the benchmark only
	// (config.BenchmarkLedgerEventsOff; production refuses it).
	EventsOff bool
	// Tracer starts a span per batch transaction (nil: tracing off, no span code runs).
	Tracer trace.Tracer
}

// Service implements the wallet, transfer and internal ledger operations of the strict interface.
type Service struct {
	st        *pg.Store
	post      *pg.Store // batch transactions (see Options.Posting)
	historyTx func(ctx context.Context, fn func(q *db.Queries) error) error
	clock     clock.Clock
	stepup    *stepup.Grants
	cur       currencies
	limit     int64
	policy    SendPolicy
	spending  map[string]Limits
	expiry    time.Duration
	log       *slog.Logger
	auditOff  bool
	eventsOff bool
	eng       *engine
	sysMu     sync.Mutex
	sysAccts  map[string]int64 // "kind/currency" → account id
	tracer    trace.Tracer     // nil: off (Options.Tracer)
}

var _ interface {
	ListWallets(context.Context, api.ListWalletsRequestObject) (api.ListWalletsResponseObject, error)
	CreateTransfer(context.Context, api.CreateTransferRequestObject) (api.CreateTransferResponseObject, error)
} = (*Service)(nil)

// New builds the service. Run must be started (as an app worker) for money to move.
func New(st *pg.Store, c clock.Clock, grants *stepup.Grants, o Options) (*Service, error) {
	if len(o.Currencies) == 0 {
		o.Currencies = DefaultCurrencies
	}
	cur, err := newCurrencies(o.Currencies)
	if err != nil {
		return nil, err
	}
	if o.TransferLimit <= 0 {
		o.TransferLimit = 1_000_000
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers()
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.HistoryTx == nil {
		o.HistoryTx = st.Tx
	}
	if o.Posting == nil {
		o.Posting = st
	}
	spending := map[string]Limits{}
	for k, v := range DefaultSpendingLimits {
		spending[k] = v
	}
	for k, v := range o.SpendingLimits {
		spending[k] = v
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ExpiryEvery <= 0 {
		o.ExpiryEvery = 30 * time.Second
	}
	s := &Service{st: st, post: o.Posting, historyTx: o.HistoryTx, clock: c, stepup: grants, cur: cur, limit: o.TransferLimit, policy: o.Policy,
		spending: spending, expiry: o.ExpiryEvery, log: o.Log, auditOff: o.AuditOff, eventsOff: o.EventsOff, sysAccts: map[string]int64{}}
	s.tracer = o.Tracer
	s.eng = newEngine(s, o.Workers, o.MaxBatch)
	return s, nil
}

// Run processes queued movements with the configured workers, voids expired holds and purges
// expired idempotency records, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); retry.Every(ctx, time.Minute, s.sweep("idempotency purge", s.purge)) }()
	go func() {
		defer wg.Done()
		retry.Every(ctx, s.expiry, s.sweep("hold expiry", func(ctx context.Context) (int64, error) {
			n, err := s.ExpireHolds(ctx)
			return int64(n), err
		}))
	}()
	s.eng.run(ctx)
	wg.Wait()
}

// sweep runs chunk again at once while it finds work; a failure is logged and the next tick
// tries again.
func (s *Service) sweep(name string, chunk func(context.Context) (int64, error)) func(context.Context) {
	return func(ctx context.Context) {
		for {
			n, err := chunk(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("ledger "+name, "error", err.Error())
			}
			if err != nil || n == 0 {
				return
			}
		}
	}
}

// purge deletes a chunk of expired idempotency records.
func (s *Service) purge(ctx context.Context) (int64, error) {
	return s.st.Q.DeleteExpiredIdempotencyKeys(ctx, s.clock.Now())
}

// systemAccount returns (creating once) the settlement or fees account of a currency.
func (s *Service) systemAccount(ctx context.Context, kind, currency string) (int64, error) {
	k := kind + "/" + currency
	s.sysMu.Lock()
	id, ok := s.sysAccts[k]
	s.sysMu.Unlock()
	if ok {
		return id, nil
	}
	if err := s.st.Q.EnsureSystemAccount(ctx, db.EnsureSystemAccountParams{Kind: kind, Currency: currency}); err != nil {
		return 0, fmt.Errorf("ledger: system account: %w", err)
	}
	id, err := s.st.Q.GetSystemAccount(ctx, db.GetSystemAccountParams{Kind: kind, Currency: currency})
	if err != nil {
		return 0, fmt.Errorf("ledger: system account: %w", err)
	}
	s.sysMu.Lock()
	s.sysAccts[k] = id
	s.sysMu.Unlock()
	return id, nil
}

// limitMinor is the per-transfer limit of a currency in minor units.
func (s *Service) limitMinor(currency string) int64 {
	e, _ := s.cur.exponent(currency)
	return s.limit * pow10(e)
}

// supported returns a 422 on `field` unless currency is offered.
func (s *Service) supported(field, currency string) error {
	if _, ok := s.cur.exponent(currency); !ok {
		return apierr.Invalid(field, "currency_unsupported")
	}
	return nil
}

// Short names for the shared helpers, kept so that the engine's call sites read as before:
// API timestamps (apitime) and optional strings (ptr).
var (
	ts     = apitime.Format
	tsPtr  = apitime.FormatPtr
	strPtr = ptr.NonZero[string]
)
