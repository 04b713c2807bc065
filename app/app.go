// Package app assembles the server from configuration: storage, cache, keys, services, the
// HTTP server and the background workers. cmd/flowxi and the test harness both use it.
package app

import (
	"context"
	"errors"
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
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/internalkeys"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/identity/tokens"
	"github.com/flowxi/backend/services/ledger"
)

// App is a running Flowxi instance.
type App struct {
	Cfg   config.Config
	Log   *slog.Logger
	Clock clock.Clock
	Store *pg.Store
	// Posting is the ledger engine's own small pool (pg.KeyedAccess settings).
	Posting *pg.Store
	Cache   *cache.Cache
	Keys    *secrets.Keys
	Tokens  *tokens.Service
	Hasher  *password.Hasher
	Limiter *ratelimit.Limiter
	Outbox  *mail.Outbox
	Sealer  *audit.Sealer
	Storage blob.Storage
	// Deletions finishes object deletions that failed or were interrupted (infra/blob/deletions).
	Deletions *deletions.Queue
	Echo      *echo.Echo
	// InternalKeys authenticates the internal operations API; Ledger moves the money.
	InternalKeys *internalkeys.Service
	Ledger       *ledger.Service

	workers []func(ctx context.Context)
	wg      sync.WaitGroup
	stop    context.CancelFunc
}

// Option adjusts an App before it is built (tests inject a clock or a logger).
type Option func(*App)

// WithClock replaces the system clock.
func WithClock(c clock.Clock) Option { return func(a *App) { a.Clock = c } }

// WithLogger replaces the JSON logger.
func WithLogger(l *slog.Logger) Option { return func(a *App) { a.Log = l } }

// New connects to PostgreSQL and Redis, applies migrations and builds the HTTP server.
func New(ctx context.Context, cfg config.Config, opts ...Option) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{Cfg: cfg, Clock: clock.System{}}
	for _, o := range opts {
		o(a)
	}
	if a.Log == nil {
		a.Log = NewLogger(cfg.LogLevel)
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
	a.StartWorkers(ctx)
	srv := &http.Server{Addr: a.Cfg.HTTPAddr, Handler: a.Echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.ListenAndServe() }()
	ops := &http.Server{Addr: a.Cfg.MetricsAddr, Handler: a.OpsHandler(), ReadHeaderTimeout: 5 * time.Second}
	if a.Cfg.MetricsAddr != "" {
		go func() { errc <- ops.ListenAndServe() }()
		a.Log.Info("metrics listening", "addr", a.Cfg.MetricsAddr)
	}
	a.Log.Info("listening", "addr", a.Cfg.HTTPAddr, "env", a.Cfg.Env)
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Drain requests first, then the workers (the mail worker finishes its current send).
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

// Close releases connections.
func (a *App) Close() {
	a.Shutdown()
	if a.Cache != nil {
		_ = a.Cache.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
	if a.Posting != nil {
		a.Posting.Close()
	}
	if c, ok := a.Storage.(interface{ Close() error }); ok {
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
