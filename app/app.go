// Package app assembles the server from configuration: storage, cache, keys, services, the
// HTTP server and the background workers. cmd/flowxi and the test harness both use it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/infra/tracing"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/identity/internalkeys"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/identity/tokens"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/services/privacy"
	"github.com/flowxi/backend/services/registration"
	"github.com/flowxi/backend/services/twofactor"
	"github.com/flowxi/backend/services/webhooks"
)

// App is a running Flowxi instance. Its parts are private: cmd/flowxi only runs it, and the
// test harness reaches them through Testing.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	clock clock.Clock
	// tracing is the tracer provider (no-op unless TRACING_ENABLED) and its instrumentation.
	tracing *tracing.Tracing
	store   *pg.Store
	// posting is the ledger engine's own small pool (pg.KeyedAccess settings).
	posting *pg.Store
	// reads serves the lag-tolerant reads from DATABASE_READ_URL (nil: all on store).
	reads *pg.Reads
	// jobsPool is River's own small pool; jobs is the one River client (infra/jobs).
	jobsPool *pg.Store
	// hooksPool is the webhook deliveries' own small pool.
	hooksPool *pg.Store
	jobs      *jobs.Jobs
	cache     *cache.Cache
	keys      *secrets.Keys
	tokens    *tokens.Service
	hasher    *password.Hasher
	limiter   *ratelimit.Limiter
	outbox    *mail.Outbox
	sealer    *audit.Sealer
	// sequencer places committed events in the feed; pruner deletes them after the retention.
	sequencer *events.Sequencer
	pruner    *events.Pruner
	storage   blob.Storage
	// deletions finishes object deletions that failed or were interrupted (infra/blob/deletions).
	deletions *deletions.Queue
	echo      *echo.Echo
	// internalKeys authenticates the internal operations API; ledger moves the money.
	internalKeys *internalkeys.Service
	ledger       *ledger.Service
	// webhooks delivers the events to subscribed endpoints (its fan-out is a worker).
	webhooks *webhooks.Webhooks
	// twofa and reg hold data under the key rings (TOTP secrets, recovery and e-mail codes):
	// `flowxi keys reencrypt` and `keys status` reach it through them (keys.go).
	twofa *twofactor.TwoFactor
	reg   *registration.Registration
	// eraser pseudonymizes closed accounts past ERASURE_RETENTION (a worker).
	eraser *privacy.Eraser

	workers []func(ctx context.Context)
	wg      sync.WaitGroup
	stop    context.CancelFunc
}

// Parts are the dependencies New built, handed to the test harness (testkit), which wraps them
// in typed helpers; nothing else uses them.
type Parts struct {
	Store        *pg.Store
	Reads        *pg.Reads
	Cache        *cache.Cache
	Keys         *secrets.Keys
	Clock        clock.Clock
	Tokens       *tokens.Service
	Hasher       *password.Hasher
	Limiter      *ratelimit.Limiter
	Outbox       *mail.Outbox
	Sealer       *audit.Sealer
	Sequencer    *events.Sequencer
	Pruner       *events.Pruner
	Storage      blob.Storage
	Deletions    *deletions.Queue
	InternalKeys *internalkeys.Service
	Ledger       *ledger.Service
	Jobs         *jobs.Jobs
	Webhooks     *webhooks.Webhooks
	Eraser       *privacy.Eraser
	Tracing      *tracing.Tracing
}

// Testing returns the built dependencies, for testkit only.
func (a *App) Testing() Parts {
	return Parts{Store: a.store, Reads: a.reads, Cache: a.cache, Keys: a.keys, Clock: a.clock, Tokens: a.tokens, Hasher: a.hasher,
		Limiter: a.limiter, Outbox: a.outbox, Sealer: a.sealer, Sequencer: a.sequencer, Pruner: a.pruner, Storage: a.storage, Deletions: a.deletions,
		InternalKeys: a.internalKeys, Ledger: a.ledger, Jobs: a.jobs, Webhooks: a.webhooks, Eraser: a.eraser, Tracing: a.tracing}
}

// Handler is the public API's HTTP handler.
func (a *App) Handler() http.Handler { return a.echo }

// Option adjusts an App before it is built (tests inject a clock or a logger).
type Option func(*App)

// WithClock replaces the system clock.
func WithClock(c clock.Clock) Option { return func(a *App) { a.clock = c } }

// WithLogger replaces the JSON logger.
func WithLogger(l *slog.Logger) Option { return func(a *App) { a.log = l } }

// New connects to PostgreSQL and Redis, applies migrations and builds the HTTP server.
func New(ctx context.Context, cfg config.Config, opts ...Option) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, clock: clock.System{}}
	for _, o := range opts {
		o(a)
	}
	if a.log == nil {
		a.log = NewLogger(cfg.LogLevel)
	}
	if err := a.compose(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// StartWorkers starts the background loops (mail sender, audit sealer, …) until Shutdown.
func (a *App) StartWorkers(ctx context.Context) {
	ctx, a.stop = context.WithCancel(ctx)
	for _, w := range a.workers {
		a.wg.Add(1)
		go func(w func(context.Context)) { defer a.wg.Done(); w(ctx) }(w)
	}
}

// Run serves HTTP on cfg.HTTPAddr until ctx ends, then drains requests and workers.
func (a *App) Run(ctx context.Context) error {
	a.log.Info("config", "config", fmt.Sprintf("%+v", a.cfg.Redacted()))
	a.StartWorkers(ctx)
	srv := &http.Server{Addr: a.cfg.HTTPAddr, Handler: a.echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	ops := &http.Server{Addr: a.cfg.MetricsAddr, Handler: a.OpsHandler(), ReadHeaderTimeout: 5 * time.Second}
	if a.cfg.MetricsAddr != "" {
		go func() { errc <- ops.ListenAndServe() }()
		a.log.Info("metrics listening", "addr", a.cfg.MetricsAddr)
	}
	a.log.Info("listening", "addr", a.cfg.HTTPAddr, "env", a.cfg.Env)
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Drain requests first, then the workers (running jobs, e-mails being sent, finish).
	err := srv.Shutdown(sctx)
	_ = ops.Shutdown(sctx)
	a.Shutdown()
	return err
}

// Shutdown stops the workers and waits for them.
func (a *App) Shutdown() {
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
}

// Close releases connections (after exporting the spans still queued).
func (a *App) Close() {
	a.Shutdown()
	if a.tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.tracing.Shutdown(ctx); err != nil {
			a.log.Warn("tracing: shutdown", "error", err.Error())
		}
		cancel()
	}
	if a.cache != nil {
		_ = a.cache.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
	if a.posting != nil {
		a.posting.Close()
	}
	if a.hooksPool != nil {
		a.hooksPool.Close()
	}
	if a.jobsPool != nil {
		a.jobsPool.Close()
	}
	if a.reads != nil {
		a.reads.Close()
	}
	if c, ok := a.storage.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// NewLogger builds the JSON logger.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
