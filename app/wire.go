package app

import (
	"github.com/labstack/echo/v4"

	flowxi "github.com/flowxi/backend"
	"github.com/flowxi/backend/server"
	"github.com/flowxi/backend/services/challenge"
	"github.com/flowxi/backend/services/docs"
	"github.com/flowxi/backend/services/health"
	"github.com/flowxi/backend/services/identity"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/services/profile"
	"github.com/flowxi/backend/services/securitylog"
	"github.com/flowxi/backend/services/sessions"
	"github.com/flowxi/backend/services/stepup"
	"github.com/flowxi/backend/services/twofactor"
)

// uploadLimits are the body limits of multipart routes (the default is 1 MiB).
var uploadLimits = map[string]int64{
	"/api/v1/me/photo": 6 << 20,
}

// wire builds every service with the dependencies it needs and composes them.
func (a *App) wire() (*server.API, error) {
	twofa := twofactor.New(twofactor.Deps{
		Store: a.Store, Cache: a.Cache, Keys: a.Keys, Clock: a.Clock, Limiter: a.Limiter, Outbox: a.Outbox,
		Sessions:   sessions.New(a.Store, a.Tokens, a.Outbox, a.Clock),
		Challenges: challenge.New(a.Cache),
		Grants:     stepup.New(a.Cache),
		Limits:     twofactor.DefaultLimits(),
	})
	led, err := ledger.New(a.Store, a.Clock, stepup.New(a.Cache), ledger.Options{
		Currencies:    a.Cfg.LedgerCurrencies,
		TransferLimit: a.Cfg.LedgerTransferLimit,
		Workers:       a.Cfg.LedgerWorkers,
		MaxBatch:      a.Cfg.LedgerMaxBatch,
		// Policy: nil until compliance (KYC, restrictions) plugs its SendPolicy in here.
	})
	if err != nil {
		return nil, err
	}
	a.Ledger = led
	a.workers = append(a.workers, led.Run)
	mw, err := a.mailWorker()
	if err != nil {
		return nil, err
	}
	a.workers = append(a.workers, mw.Run)
	return &server.API{
		Checker:        health.New(a.Store, a.Cache),
		Identity:       identity.New(),
		Registration:   a.registration(twofa),
		TwoFactor:      twofa,
		Profile:        profile.New(),
		SecurityEvents: securitylog.New(a.Store.Q),
		Docs:           docs.New(flowxi.OpenAPISpec, flowxi.DocsHTML),
		Service:        led,
	}, nil
}

// extraRoutes mounts routes that are not operations of the spec.
func (a *App) extraRoutes(e *echo.Echo) {}
