package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	flowxi "github.com/flowxi/backend"
	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/egress"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/metrics"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/infra/tracing"
	"github.com/flowxi/backend/server"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/compliance"
	"github.com/flowxi/backend/services/docs"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/services/health"
	"github.com/flowxi/backend/services/identity"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/internalkeys"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/stepup"
	"github.com/flowxi/backend/services/identity/tokens"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/services/privacy"
	"github.com/flowxi/backend/services/profile"
	"github.com/flowxi/backend/services/profile/securitylog"
	"github.com/flowxi/backend/services/registration"
	"github.com/flowxi/backend/services/support"
	"github.com/flowxi/backend/services/twofactor"
	"github.com/flowxi/backend/services/webhooks"
)

// uploadLimits are the body limits of multipart routes (the default is 1 MiB).
var uploadLimits = map[string]int64{
	"/api/v1/me/photo": 6 << 20,
	// A 10 MiB document plus the multipart envelope and the kind field.
	"/api/v1/compliance/documents": compliance.MaxDocumentBytes + 64<<10,
}

// identityParts are the pieces of identity several capabilities share: one of each, built once.
type identityParts struct {
	sessions   *sessions.Sessions
	challenges *challenge.Store
	grants     *stepup.Grants
}

// compose is the composition root: it builds every dependency once, in dependency order
// (infrastructure, then the capabilities, then the HTTP server), and lists every background
// worker in one place. On error the caller closes what was opened (Close skips the rest).
func (a *App) compose(ctx context.Context) error {
	if err := a.openTracing(ctx); err != nil {
		return err
	}
	if err := a.openInfra(ctx); err != nil {
		return err
	}
	api, mailer, err := a.buildServices()
	if err != nil {
		return err
	}
	// Every kind of background job (River, infra/jobs), each registered once.
	mail.Register(a.jobs, mailer)
	deletions.Register(a.jobs, a.deletions)
	// Every background loop, started together by StartWorkers; a.jobs.Run works the jobs.
	a.workers = []func(context.Context){a.sealer.Run, a.ledger.Run, a.sequencer.Run, a.pruner.Run, a.webhooks.RunFanout, a.eraser.Run, a.jobs.Run}
	if a.reads != nil {
		a.workers = append(a.workers, a.reads.Run) // re-measures the replica's lag
	}
	a.echo, err = server.New(server.Options{
		API:            api,
		Auth:           a.tokens,
		Internal:       a.internalKeys,
		Log:            a.log,
		TrustedProxies: a.cfg.TrustedProxies,
		UploadLimits:   uploadLimits,
		Extra:          a.extraRoutes,
		Production:     a.cfg.Production(),
		CORSOrigins:    a.cfg.CORSOrigins,
		Tracer:         a.tracer("github.com/flowxi/backend/server"),
	})
	return err
}

// openTracing builds the tracer provider first, so that every pool, the Redis client, the
// server and the ledger get their instrumentation from it (none of it when tracing is off), and
// wraps the logger so that lines logged in a traced context carry trace_id and span_id.
func (a *App) openTracing(ctx context.Context) error {
	c := a.cfg
	headers, err := tracing.ParseHeaders(c.OTLPHeaders)
	if err != nil {
		return err
	}
	if a.tracing, err = tracing.Open(ctx, tracing.Options{Enabled: c.TracingEnabled, Ratio: c.TracingSampleRatio,
		Endpoint: c.OTLPEndpoint, Headers: headers, ServiceName: c.OTelServiceName, Log: a.log}); err != nil {
		return err
	}
	if a.tracing.On() {
		a.log = slog.New(tracing.LogHandler(a.log.Handler()))
	}
	return nil
}

// tracer is the named tracer when tracing is on, nil when off (the consumers then run no span
// code at all).
func (a *App) tracer(name string) trace.Tracer {
	if !a.tracing.On() {
		return nil
	}
	return a.tracing.Tracer(name)
}

// openPool opens one PostgreSQL pool on DATABASE_URL, with the statement tracer when tracing
// is on.
func (a *App) openPool(ctx context.Context, maxConns int32, settings ...pg.Setting) (*pg.Store, error) {
	return pg.OpenTraced(ctx, a.cfg.DatabaseURL, maxConns, a.tracing.PgTracer(), settings...)
}

// openInfra opens what the capabilities talk to: keys, PostgreSQL (migrated), the posting
// pool, Redis, object storage, the rate limiter and the mail outbox.
func (a *App) openInfra(ctx context.Context) error {
	var err error
	if a.keys, err = openKeys(a.cfg); err != nil {
		return err
	}
	if a.store, err = a.openPool(ctx, 0); err != nil {
		return err
	}
	if !a.cfg.SkipMigrations {
		if err := a.store.Migrate(ctx); err != nil {
			return err
		}
	}
	// One connection per posting worker, plus slack for a batch retried alone.
	workers := a.cfg.LedgerWorkers
	if workers <= 0 {
		workers = ledger.DefaultWorkers()
	}
	if a.posting, err = a.openPool(ctx, int32(workers+2), pg.KeyedAccess...); err != nil {
		return err
	}
	// The webhook deliveries' own pool: their many concurrent attempts (WEBHOOK_WORKERS) never
	// queue the API's requests behind them.
	if a.hooksPool, err = a.openPool(ctx, 8); err != nil {
		return err
	}
	if err := a.openJobs(ctx); err != nil {
		return err
	}
	if a.cfg.DatabaseReadURL != "" {
		if a.reads, err = pg.OpenReads(ctx, a.cfg.DatabaseReadURL, a.store, a.cfg.DatabaseReadMaxLag, a.tracing.PgTracer(), a.log); err != nil {
			return err
		}
	}
	if a.cache, err = cache.Open(a.cfg.RedisURL, a.cfg.RedisPrefix); err != nil {
		return err
	}
	if err := a.tracing.InstrumentRedis(a.cache.R); err != nil {
		return err
	}
	if a.storage, err = a.openStorage(); err != nil {
		return err
	}
	a.limiter = ratelimit.New(a.cache)
	a.limiter.OnReject = func(name string) { metrics.RateLimited.WithLabelValues(name).Inc() }
	a.outbox = mail.NewOutbox(a.keys, a.jobs)
	metrics.SetOutboxBacklog(a.outboxBacklog)
	return nil
}

// openJobs builds the River client over its own pool: River's listener holds one connection,
// and the queues' fetches and completions share the others with the jobs' own work.
func (a *App) openJobs(ctx context.Context) error {
	var err error
	if a.jobsPool, err = a.openPool(ctx, 4); err != nil {
		return err
	}
	a.jobs, err = jobs.New(a.jobsPool.Pool, jobs.Options{Clock: a.clock, Log: a.log, Poll: a.cfg.JobsPollInterval, RescueAfter: a.cfg.JobsRescueAfter})
	if err != nil {
		return err
	}
	a.jobs.ExposeDepth()
	return nil
}

// openKeys builds the two key rings (FLOWXI_ENCRYPTION_KEYS, FLOWXI_HMAC_KEYS or their
// single-key forms as v1).
func openKeys(cfg config.Config) (*secrets.Keys, error) {
	enc, mac, err := cfg.Rings()
	if err != nil {
		return nil, err
	}
	return secrets.NewRings(enc, mac)
}

// outboxBacklog counts the pending e-mails for the metrics gauge.
func (a *App) outboxBacklog() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var n int64
	_ = a.store.Pool.QueryRow(ctx, "SELECT count(*) FROM mail_outbox WHERE status = 'pending'").Scan(&n)
	return float64(n)
}

// eventsLag is the feed-lag gauge: the age, in seconds, of the oldest committed event the
// sequencer has not positioned yet; NaN when the database does not answer (unknown, not 0).
func (a *App) eventsLag() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	lag, err := a.sequencer.Lag(ctx, a.clock.Now())
	if err != nil {
		return math.NaN()
	}
	return lag.Seconds()
}

// buildServices builds the capabilities over the infrastructure, each once, and returns the
// generated interface's implementation and the mail sender.
func (a *App) buildServices() (*server.API, *mail.Sender, error) {
	a.tokens = tokens.New(a.store, a.clock, a.cfg.TokenTTL, a.cfg.TokenIdleTTL)
	a.hasher = password.New(password.Params{MemoryKiB: a.cfg.Argon2MemoryKiB, Time: a.cfg.Argon2Time, Threads: 1})
	a.internalKeys = internalkeys.New(a.store, a.clock).WithOverlap(a.cfg.InternalKeyRotationOverlap)
	a.sealer = audit.NewSealer(a.store, a.clock, a.log, a.cfg.AuditSealEvery)
	a.sequencer = events.NewSequencer(a.store, a.log.With("worker", "events"), a.cfg.EventsSequenceEvery)
	metrics.SetEventsLag(a.eventsLag)
	a.pruner = events.NewPruner(a.store, a.clock, a.log.With("worker", "events"), a.cfg.EventsRetention, time.Minute)
	// Uploaded objects that no row comes to refer to are deleted by this queue's jobs.
	a.deletions = deletions.New(a.store, a.jobs, a.storage, a.clock, a.log)
	ids := identityParts{
		sessions:   sessions.New(a.store, a.tokens, a.outbox, a.clock),
		challenges: challenge.New(a.cache),
		grants:     stepup.New(a.cache),
	}
	a.twofa = a.twoFactor(ids)
	a.reg = a.registration(a.twofa)
	comp := a.compliance()
	var err error
	if a.ledger, err = a.buildLedger(ids.grants, comp); err != nil {
		return nil, nil, err
	}
	a.webhooks = a.buildWebhooks()
	priv := a.privacy(ids.grants)
	mailer, err := a.mailWorker()
	if err != nil {
		return nil, nil, err
	}
	return &server.API{
		Checker:      health.New(a.store, a.cache),
		Identity:     a.identity(ids),
		Registration: a.reg,
		TwoFactor:    a.twofa,
		Profile:      profile.New(a.store, a.storage, a.deletions, a.clock, a.log),
		// Lists that may lag the primary by up to DATABASE_READ_MAX_LAG: the replica's queries.
		SecurityEvents: securitylog.New(a.reads.Or(a.store)),
		Docs:           docs.New(flowxi.OpenAPISpec, flowxi.DocsHTML),
		Service:        a.ledger,
		Compliance:     comp,
		Webhooks:       a.webhooks,
		Feed:           events.New(a.store),
		Privacy:        priv,
		Support: support.New(support.Deps{Store: a.store, Clock: a.clock, Outbox: a.outbox, Registration: a.reg, Wallets: a.ledger,
			ApprovalWindow: a.cfg.SupportApprovalWindow, IdleTTL: a.cfg.TokenIdleTTL}),
		InternalKeys: a.internalKeys,
	}, mailer, nil
}

// openStorage builds the object storage driver named by STORAGE_DRIVER.
func (a *App) openStorage() (blob.Storage, error) {
	c := a.cfg
	switch c.StorageDriver {
	case "", "local":
		return blob.NewLocal(filepath.Join(c.DataDir, "storage"), c.PublicURL, a.keys, a.clock)
	case "s3":
		return blob.NewS3(blob.S3Options{Endpoint: c.S3Endpoint, Region: c.S3Region, Bucket: c.S3Bucket,
			AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, PathStyle: c.S3PathStyle})
	default:
		return nil, fmt.Errorf("STORAGE_DRIVER must be local or s3, not %q", c.StorageDriver)
	}
}

// identity builds the login/session service (login limits and the per-e-mail password budget
// from the configuration).
func (a *App) identity(ids identityParts) *identity.Identity {
	perEmailIP, perIP := a.cfg.LoginLimits()
	guesses, window := a.cfg.GuessBudget()
	return identity.New(identity.Deps{
		Store:      a.store,
		Hasher:     a.hasher,
		Limiter:    a.limiter,
		Sessions:   ids.sessions,
		Challenges: ids.challenges,
		StepUp:     ids.grants,
		Clock:      a.clock,
		Limits: identity.Limits{
			PerEmailIP: ratelimit.Per(perEmailIP, time.Minute),
			PerIP:      ratelimit.Per(perIP, time.Minute),
		},
		Guesses: a.limiter.Budget("login", guesses, window),
		Outbox:  a.outbox,
		IdleTTL: a.cfg.TokenIdleTTL,
	})
}

// twoFactor builds the 2FA service (its guessing budget from the configuration).
func (a *App) twoFactor(ids identityParts) *twofactor.TwoFactor {
	limits := twofactor.DefaultLimits()
	limits.MaxFailures, limits.FailureWindow = a.cfg.GuessBudget()
	return twofactor.New(twofactor.Deps{
		Store: a.store, Cache: a.cache, Keys: a.keys, Clock: a.clock, Limiter: a.limiter, Outbox: a.outbox,
		Sessions: ids.sessions, Challenges: ids.challenges, Grants: ids.grants, Limits: limits,
	})
}

// registration builds the registration and password-reset service; second is the 2FA service
// (a password reset of a 2FA user needs a TOTP or recovery code).
func (a *App) registration(second registration.SecondFactor) *registration.Registration {
	guesses, window := a.cfg.GuessBudget()
	return registration.New(registration.Deps{
		Store: a.store, Clock: a.clock, Keys: a.keys, Hasher: a.hasher, Tokens: a.tokens,
		Limiter: a.limiter, Outbox: a.outbox, FrontendURL: a.cfg.FrontendURL, SecondFactor: second,
		ResetGuesses:    a.limiter.Budget("pwreset.code", guesses, window),
		RegisterGuesses: a.limiter.Budget("reg.code", guesses, window),
	})
}

// compliance builds the KYC/KYB service (document limits from the configuration).
func (a *App) compliance() *compliance.Compliance {
	return compliance.New(compliance.Deps{Store: a.store, Objects: a.storage, Deletions: a.deletions, Clock: a.clock, Outbox: a.outbox, Log: a.log,
		Limiter: a.limiter, Limits: compliance.Limits{
			VersionsPerKind: a.cfg.DocumentVersionsPerKind,
			BytesPerCase:    a.cfg.DocumentBytesPerCase,
			Uploads:         ratelimit.Per(a.cfg.DocumentUploadsPerHour, time.Hour),
		}})
}

// buildLedger builds the money engine; sending needs the approved KYC/KYB case and no active
// restriction (policy), and a step-up grant above the threshold.
func (a *App) buildLedger(grants *stepup.Grants, policy *compliance.Compliance) (*ledger.Service, error) {
	spending, err := ledger.ParseLimits(a.cfg.LedgerSpendingLimits)
	if err != nil {
		return nil, err
	}
	return ledger.New(a.store, a.clock, grants, ledger.Options{
		Currencies:     a.cfg.LedgerCurrencies,
		TransferLimit:  a.cfg.LedgerTransferLimit,
		SpendingLimits: spending,
		Workers:        a.cfg.LedgerWorkers,
		MaxBatch:       a.cfg.LedgerMaxBatch,
		ExpiryEvery:    a.cfg.LedgerExpiryEvery,
		Policy:         policy,
		Posting:        a.posting,
		HistoryTx:      a.reads.ReadTx(a.store),
		AuditOff:       a.cfg.BenchmarkLedgerAuditOff,
		EventsOff:      a.cfg.BenchmarkLedgerEventsOff,
		Log:            a.log,
		Tracer:         a.tracer("github.com/flowxi/backend/services/ledger"),
	})
}

// mailWorker builds the outbox sender: SMTP when SMTP_URL is set, otherwise the log driver
// (development only: config.Validate requires SMTP_URL in production). In development the log
// driver prints the text body too, so a developer can read codes and links locally.
func (a *App) mailWorker() (*mail.Sender, error) {
	var tr mail.Transport = mail.Log{Log: a.log, ShowBody: !a.cfg.Production()}
	if a.cfg.SMTPURL != "" {
		sc, err := mail.ParseSMTPURL(a.cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		if a.cfg.Production() && (sc.TLS == "none" || sc.TLS == "opportunistic") {
			return nil, errors.New("mail: SMTP_URL must use TLS (smtps:// or smtp:// with STARTTLS) in production")
		}
		tr = mail.NewSMTP(sc)
	}
	return &mail.Sender{
		Q:         a.store.Q,
		Outbox:    a.outbox,
		Transport: tr,
		Clock:     a.clock,
		Log:       a.log.With("worker", "mail"),
		From:      a.cfg.MailFrom,
	}, nil
}

// extraRoutes mounts routes that are not operations of the spec.
func (a *App) extraRoutes(e *echo.Echo) {
	// Signed URLs of the local storage driver (S3 serves its own).
	if l, ok := a.storage.(*blob.Local); ok {
		e.GET(blob.LocalRoute+"*", func(c echo.Context) error {
			return l.ServeSigned(c.Response(), c.Request(), c.Param("*"))
		})
	}
}

// buildWebhooks builds the webhook deliveries (the allow-list and https in production from the
// configuration) and registers their River worker.
func (a *App) buildWebhooks() *webhooks.Webhooks {
	c := a.cfg
	w := webhooks.New(webhooks.Deps{Store: a.hooksPool, Jobs: a.jobs, Keys: a.keys, Clock: a.clock, Log: a.log,
		Egress:    egress.Policy{Allow: c.WebhookAllowedNetworks, RequireHTTPS: c.Production()},
		KnownType: events.Known,
		Options: webhooks.Options{Timeout: c.WebhookTimeout, RetryFor: c.WebhookRetryFor, DisableAfter: c.WebhookDisableAfter,
			Workers: c.WebhookWorkers, FanoutEvery: c.WebhookFanoutEvery},
	})
	w.Register()
	return w
}

// privacy builds the personal data export and the erasure worker (retention from the
// configuration), and exposes the erasure backlog on /metrics.
func (a *App) privacy(grants *stepup.Grants) *privacy.Privacy {
	d := privacy.Deps{Store: a.store, Objects: a.storage, StepUp: grants, Deletions: a.deletions, Clock: a.clock,
		Log: a.log.With("worker", "erasure"), Retention: a.cfg.ErasureRetention, Every: a.cfg.ErasureEvery}
	a.eraser = privacy.NewEraser(d)
	metrics.SetErasureBacklog(func() (float64, float64) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, due, _ := a.eraser.Backlog(ctx)
		return float64(r), float64(due)
	})
	return privacy.New(d)
}
