package app

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	flowxi "github.com/flowxi/backend"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/server"
	"github.com/flowxi/backend/services/compliance"
	"github.com/flowxi/backend/services/docs"
	"github.com/flowxi/backend/services/health"
	"github.com/flowxi/backend/services/identity"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/stepup"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/services/profile"
	"github.com/flowxi/backend/services/profile/securitylog"
	"github.com/flowxi/backend/services/twofactor"
)

// uploadLimits are the body limits of multipart routes (the default is 1 MiB).
var uploadLimits = map[string]int64{
	"/api/v1/me/photo": 6 << 20,
	// A 10 MiB document plus the multipart envelope and the kind field.
	"/api/v1/compliance/documents": compliance.MaxDocumentBytes + 64<<10,
}

// wire builds every service with the dependencies it needs and composes them.
func (a *App) wire() (*server.API, error) {
	var err error
	if a.Storage, err = a.openStorage(); err != nil {
		return nil, err
	}
	twofaLimits := twofactor.DefaultLimits()
	twofaLimits.MaxFailures, twofaLimits.FailureWindow = a.Cfg.GuessBudget()
	twofa := twofactor.New(twofactor.Deps{
		Store: a.Store, Cache: a.Cache, Keys: a.Keys, Clock: a.Clock, Limiter: a.Limiter, Outbox: a.Outbox,
		Sessions:   sessions.New(a.Store, a.Tokens, a.Outbox, a.Clock),
		Challenges: challenge.New(a.Cache),
		Grants:     stepup.New(a.Cache),
		Limits:     twofaLimits,
	})
	// Uploaded objects that no row comes to refer to are deleted by this queue's worker.
	dels := deletions.New(a.Store.Q, a.Storage, a.Clock, a.Log, time.Minute)
	a.workers = append(a.workers, dels.Run)
	a.Deletions = dels
	comp := compliance.New(compliance.Deps{Store: a.Store, Objects: a.Storage, Deletions: dels, Clock: a.Clock, Outbox: a.Outbox, Log: a.Log,
		Limiter: a.Limiter, Limits: compliance.Limits{
			VersionsPerKind: a.Cfg.DocumentVersionsPerKind,
			BytesPerCase:    a.Cfg.DocumentBytesPerCase,
			Uploads:         ratelimit.Per(a.Cfg.DocumentUploadsPerHour, time.Hour),
		}})
	spending, err := ledger.ParseLimits(a.Cfg.LedgerSpendingLimits)
	if err != nil {
		return nil, err
	}
	led, err := ledger.New(a.Store, a.Clock, stepup.New(a.Cache), ledger.Options{
		Currencies:     a.Cfg.LedgerCurrencies,
		TransferLimit:  a.Cfg.LedgerTransferLimit,
		SpendingLimits: spending,
		Workers:        a.Cfg.LedgerWorkers,
		MaxBatch:       a.Cfg.LedgerMaxBatch,
		ExpiryEvery:    a.Cfg.LedgerExpiryEvery,
		// Sending needs the approved KYC/KYB case and no active restriction.
		Policy:   comp,
		Posting:  a.Posting,
		AuditOff: a.Cfg.BenchmarkLedgerAuditOff,
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
		Identity:       a.identity(),
		Registration:   a.registration(twofa),
		TwoFactor:      twofa,
		Profile:        profile.New(a.Store, a.Storage, dels, a.Clock, a.Log),
		SecurityEvents: securitylog.New(a.Store.Q),
		Docs:           docs.New(flowxi.OpenAPISpec, flowxi.DocsHTML),
		Service:        led,
		Compliance:     comp,
	}, nil
}

// openStorage builds the object storage driver named by STORAGE_DRIVER.
func (a *App) openStorage() (blob.Storage, error) {
	c := a.Cfg
	switch c.StorageDriver {
	case "", "local":
		return blob.NewLocal(filepath.Join(c.DataDir, "storage"), c.PublicURL, a.Keys, a.Clock)
	case "s3":
		return blob.NewS3(blob.S3Options{Endpoint: c.S3Endpoint, Region: c.S3Region, Bucket: c.S3Bucket,
			AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, PathStyle: c.S3PathStyle})
	default:
		return nil, fmt.Errorf("STORAGE_DRIVER must be local or s3, not %q", c.StorageDriver)
	}
}

// identity builds the login/session service (login limits and the per-e-mail password budget
// from the configuration).
func (a *App) identity() *identity.Identity {
	perEmailIP, perIP := a.Cfg.LoginLimits()
	guesses, window := a.Cfg.GuessBudget()
	return identity.New(identity.Deps{
		Store:      a.Store,
		Hasher:     a.Hasher,
		Limiter:    a.Limiter,
		Sessions:   sessions.New(a.Store, a.Tokens, a.Outbox, a.Clock),
		Challenges: challenge.New(a.Cache),
		StepUp:     stepup.New(a.Cache),
		Clock:      a.Clock,
		Limits: identity.Limits{
			PerEmailIP: ratelimit.Per(perEmailIP, time.Minute),
			PerIP:      ratelimit.Per(perIP, time.Minute),
		},
		Guesses: a.Limiter.Budget("login", guesses, window),
		Outbox:  a.Outbox,
		IdleTTL: a.Cfg.TokenIdleTTL,
	})
}

// extraRoutes mounts routes that are not operations of the spec.
func (a *App) extraRoutes(e *echo.Echo) {
	// Signed URLs of the local storage driver (S3 serves its own).
	if l, ok := a.Storage.(*blob.Local); ok {
		e.GET(blob.LocalRoute+"*", func(c echo.Context) error {
			return l.ServeSigned(c.Response(), c.Request(), c.Param("*"))
		})
	}
}
