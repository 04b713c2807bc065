// Package config reads the environment once into a typed struct with defaults and validation.
// Values, not the struct, are passed on to constructors.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the server. The README lists each variable.
type Config struct {
	Env         string // development | production
	HTTPAddr    string
	MetricsAddr string
	DatabaseURL string
	// DatabaseReadURL is an optional replica for the reads that tolerate lag, used while its
	// replay is within DatabaseReadMaxLag of the primary (infra/pg.Reads).
	DatabaseReadURL    string
	DatabaseReadMaxLag time.Duration
	RedisURL           string
	RedisPrefix        string
	// The two server secrets as key rings, newest first (FLOWXI_ENCRYPTION_KEYS=v2:…,v1:…,
	// FLOWXI_HMAC_KEYS), each key 32 bytes hex/base64; the single-key variables
	// FLOWXI_ENCRYPTION_KEY and FLOWXI_HMAC_KEY still work as the one-key ring v1. Read them
	// through EncryptionRing and HMACRing.
	EncryptionKeys string `redact:"all"`
	HMACKeys       string `redact:"all"`
	EncryptionKey  string `redact:"all"`
	HMACKey        string `redact:"all"`
	FrontendURL    string
	PublicURL      string // base URL of this API (signed local URLs)
	SMTPURL        string
	MailFrom       string
	TrustedProxies []netip.Prefix
	CORSOrigins    []string
	LogLevel       string
	SkipMigrations bool
	DataDir        string // .data/ for local secrets and files

	TokenTTL     time.Duration
	TokenIdleTTL time.Duration

	// AuditSealEvery is how often the sealer chains new audit rows; AuditStaleAfter is how long
	// a row may stay unsealed before `flowxi audit verify` flags it.
	AuditSealEvery  time.Duration
	AuditStaleAfter time.Duration

	// JobsPollInterval is how often each background job queue looks for due jobs besides
	// River's notifications (JOBS_POLL_INTERVAL).
	JobsPollInterval time.Duration
	// JobsRescueAfter is how long a job may stay running before River takes its process for
	// dead and retries it elsewhere (JOBS_RESCUE_AFTER).
	JobsRescueAfter time.Duration

	// Webhooks (services/webhooks): the networks receivers may be on although private
	// (WEBHOOK_ALLOWED_NETWORKS), one exchange's time bound, how long a delivery is retried,
	// how long a subscription may fail before it is disabled, deliveries sent at once per
	// instance, and how often the fan-out reads the feed (0: the defaults of the package).
	WebhookAllowedNetworks []netip.Prefix
	WebhookTimeout         time.Duration
	WebhookRetryFor        time.Duration
	WebhookDisableAfter    time.Duration
	WebhookWorkers         int
	WebhookFanoutEvery     time.Duration

	// SupportApprovalWindow is how long a 2FA reset asked by one internal key waits for a
	// different key's approval (SUPPORT_APPROVAL_WINDOW, services/support).
	SupportApprovalWindow time.Duration
	// InternalKeyRotationOverlap is how long a rotated internal key's predecessor stays valid by
	// default (INTERNAL_KEY_ROTATION_OVERLAP).
	InternalKeyRotationOverlap time.Duration

	// Argon2id cost (tests lower it).
	Argon2MemoryKiB uint32
	Argon2Time      uint32

	// Login attempts allowed per minute (DESIGN §4), counted before the password check:
	// per email+IP (LOGIN_RATE_EMAIL_IP, default 5) and per IP (LOGIN_RATE_IP, default 30).
	// Zero means the default, so a configuration that forgets them never disables them.
	LoginRatePerEmailIP int
	LoginRatePerIP      int

	// Compliance document caps (DOCUMENT_VERSIONS_PER_KIND, DOCUMENT_BYTES_PER_CASE,
	// DOCUMENT_UPLOADS_PER_HOUR): versions per kind per case, bytes per case (every version
	// counts), upload attempts per user per hour. Zero means the default (services/compliance).
	DocumentVersionsPerKind int
	DocumentBytesPerCase    int64
	DocumentUploadsPerHour  int
	// The per-account guessing budget (ACCOUNT_GUESS_LIMIT wrong guesses per
	// ACCOUNT_GUESS_WINDOW, default 10 per 15 min), independent of the client address: each
	// secret has its own count — passwords per login e-mail, second factors per account,
	// password-reset and registration codes per e-mail. Zero means the default.
	AccountGuessLimit  int
	AccountGuessWindow time.Duration

	StorageDriver string // local | s3
	S3Endpoint    string
	S3Region      string
	S3Bucket      string
	S3AccessKey   string `redact:"all"`
	S3SecretKey   string `redact:"all"`
	S3PathStyle   bool

	// Ledger: offered currencies (ISO 4217), the per-transfer limit in major units of each
	// currency, and the posting engine's batching (0: defaults).
	LedgerCurrencies    []string
	LedgerTransferLimit int64
	// LedgerSpendingLimits is LEDGER_SPENDING_LIMITS as written (ledger.ParseLimits reads it).
	LedgerSpendingLimits string
	LedgerWorkers        int
	LedgerMaxBatch       int
	// LedgerExpiryEvery is how often the expiry worker voids expired holds (0: the ledger's default).
	LedgerExpiryEvery time.Duration

	// EventsRetention is how long domain events stay in the feed before the retention worker
	// deletes them (EVENTS_RETENTION, default 30 days); EventsSequenceEvery is how often the
	// sequencer gives newly committed events their feed positions (EVENTS_SEQUENCE_EVERY).
	EventsRetention     time.Duration
	EventsSequenceEvery time.Duration

	// ErasureRetention is how long a closed account keeps its non-financial personal data before
	// the erasure worker pseudonymizes it (ERASURE_RETENTION, default 30 days); ErasureEvery is how
	// often the worker looks for due accounts (ERASURE_EVERY).
	ErasureRetention time.Duration
	ErasureEvery     time.Duration
	// Tracing (infra/tracing): OpenTelemetry spans, off unless TracingEnabled; TracingSampleRatio
	// of new traces are kept (parent-based), exported over OTLP/HTTP to OTLPEndpoint (the SDK's
	// default when empty) with OTLPHeaders (key=value,… : may carry a token).
	TracingEnabled     bool
	TracingSampleRatio float64
	OTLPEndpoint       string
	OTLPHeaders        string `redact:"all"`
	OTelServiceName    string

	// BenchmarkLedgerAuditOff stops the ledger from writing audit events for money movements. It
	// exists only so that `make bench` can measure what the audit log costs (issue: throughput with
	// it on within 10 % of off); nothing reads it from the environment and production refuses it.
	BenchmarkLedgerAuditOff bool
	// BenchmarkLedgerEventsOff stops the ledger from writing domain events for money movements,
	// for the benchmark that measures what they cost; like BenchmarkLedgerAuditOff, nothing reads
	// it from the environment and production refuses it.
	BenchmarkLedgerEventsOff bool
}

// Load reads the environment: every variable is one row of settings, read the same way.
func Load() (Config, error) {
	var c Config
	for _, s := range settings(&c) {
		if err := s.parse(s.value()); err != nil {
			return c, fmt.Errorf("config: %s: %w", s.name, err)
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	return c, nil
}

// A setting is one environment variable: its default, how its raw value is read, and the
// parser that stores it in its field of Config. The README's environment table documents
// each one (config/readme_test.go checks that both list the same variables).
type setting struct {
	name  string
	def   string // the value of an unset variable (and of an empty one, unless read orOff)
	read  source
	parse func(v string) error // v == "": leave the field at its zero value
}

// source is how a variable's raw value is read.
type source int

const (
	plain  source = iota // unset or empty: the default
	orOff                // unset: the default; set, even to "": the value, trimmed (README "empty: off")
	secret               // as plain with no default, but NAME_FILE, when set and readable, wins (trimmed)
)

// settings is the table Load reads, in Config's order, each row bound to its field of c.
func settings(c *Config) []setting {
	return []setting{
		{"FLOWXI_ENV", "development", plain, text(&c.Env)},
		{"HTTP_ADDR", "127.0.0.1:8080", plain, text(&c.HTTPAddr)},
		{"METRICS_ADDR", "127.0.0.1:9090", orOff, text(&c.MetricsAddr)},
		{"DATABASE_URL", "", plain, text(&c.DatabaseURL)},
		{"DATABASE_READ_URL", "", plain, text(&c.DatabaseReadURL)},
		{"DATABASE_READ_MAX_LAG", "5s", plain, duration(&c.DatabaseReadMaxLag)},
		{"REDIS_URL", "redis://127.0.0.1:6379/0", plain, text(&c.RedisURL)},
		{"REDIS_PREFIX", "flowxi:", plain, text(&c.RedisPrefix)},
		{"FLOWXI_ENCRYPTION_KEYS", "", secret, text(&c.EncryptionKeys)},
		{"FLOWXI_HMAC_KEYS", "", secret, text(&c.HMACKeys)},
		{"FLOWXI_ENCRYPTION_KEY", "", secret, text(&c.EncryptionKey)},
		{"FLOWXI_HMAC_KEY", "", secret, text(&c.HMACKey)},
		{"FRONTEND_URL", "http://localhost:3000", plain, text(&c.FrontendURL)},
		{"PUBLIC_URL", "", plain, text(&c.PublicURL)}, // none: http:// + HTTP_ADDR (Load)
		{"SMTP_URL", "", secret, text(&c.SMTPURL)},
		{"MAIL_FROM", "Flowxi <no-reply@flowxi.app>", plain, text(&c.MailFrom)},
		{"TRUSTED_PROXIES", "", plain, prefixes(&c.TrustedProxies)},
		{"CORS_ORIGINS", "", plain, list(&c.CORSOrigins)},
		{"LOG_LEVEL", "info", plain, text(&c.LogLevel)},
		{"SKIP_MIGRATIONS", "", plain, is(&c.SkipMigrations, "1")},
		{"FLOWXI_DATA_DIR", ".data", plain, text(&c.DataDir)},

		{"TOKEN_TTL", "720h", plain, duration(&c.TokenTTL)},
		{"TOKEN_IDLE_TTL", "168h", plain, duration(&c.TokenIdleTTL)},
		{"AUDIT_SEAL_EVERY", DefaultAuditSealEvery.String(), plain, duration(&c.AuditSealEvery)},
		{"AUDIT_STALE_AFTER", "5m", plain, duration(&c.AuditStaleAfter)},
		{"JOBS_POLL_INTERVAL", "1s", plain, duration(&c.JobsPollInterval)},
		{"JOBS_RESCUE_AFTER", "5m", plain, duration(&c.JobsRescueAfter)},

		{"WEBHOOK_ALLOWED_NETWORKS", "", plain, prefixes(&c.WebhookAllowedNetworks)},
		{"WEBHOOK_TIMEOUT", "10s", plain, duration(&c.WebhookTimeout)},
		{"WEBHOOK_RETRY_FOR", "72h", plain, duration(&c.WebhookRetryFor)},
		{"WEBHOOK_DISABLE_AFTER", "72h", plain, duration(&c.WebhookDisableAfter)},
		{"WEBHOOK_WORKERS", "16", plain, atLeast(&c.WebhookWorkers, 1)},
		{"WEBHOOK_FANOUT_EVERY", "100ms", plain, duration(&c.WebhookFanoutEvery)},
		{"SUPPORT_APPROVAL_WINDOW", "30m", plain, duration(&c.SupportApprovalWindow)},
		{"INTERNAL_KEY_ROTATION_OVERLAP", "24h", plain, duration(&c.InternalKeyRotationOverlap)},
		{"ARGON2_MEMORY_KIB", "19456", plain, atLeast(&c.Argon2MemoryKiB, 1024)},
		{"ARGON2_TIME", "2", plain, atLeast(&c.Argon2Time, 1)},
		{"LOGIN_RATE_EMAIL_IP", strconv.Itoa(DefaultLoginRatePerEmailIP), plain, atLeast(&c.LoginRatePerEmailIP, 1)},
		{"LOGIN_RATE_IP", strconv.Itoa(DefaultLoginRatePerIP), plain, atLeast(&c.LoginRatePerIP, 1)},
		// The compliance caps and the ledger's numbers default in their service (0 here).
		{"DOCUMENT_VERSIONS_PER_KIND", "", plain, atLeast(&c.DocumentVersionsPerKind, 1)},
		{"DOCUMENT_BYTES_PER_CASE", "", plain, atLeast(&c.DocumentBytesPerCase, 1)},
		{"DOCUMENT_UPLOADS_PER_HOUR", "", plain, atLeast(&c.DocumentUploadsPerHour, 1)},
		{"ACCOUNT_GUESS_LIMIT", strconv.Itoa(DefaultAccountGuessLimit), plain, atLeast(&c.AccountGuessLimit, 1)},
		{"ACCOUNT_GUESS_WINDOW", DefaultAccountGuessWindow.String(), plain, duration(&c.AccountGuessWindow)},

		{"STORAGE_DRIVER", "local", plain, text(&c.StorageDriver)},
		{"S3_ENDPOINT", "", plain, text(&c.S3Endpoint)},
		{"S3_REGION", "us-east-1", plain, text(&c.S3Region)},
		{"S3_BUCKET", "", plain, text(&c.S3Bucket)},
		{"S3_ACCESS_KEY", "", secret, text(&c.S3AccessKey)},
		{"S3_SECRET_KEY", "", secret, text(&c.S3SecretKey)},
		{"S3_PATH_STYLE", "true", plain, is(&c.S3PathStyle, "true")},

		{"LEDGER_CURRENCIES", "EUR,XOF,USD", plain, list(&c.LedgerCurrencies)},
		{"LEDGER_TRANSFER_LIMIT", "", plain, atLeast(&c.LedgerTransferLimit, 1)},
		{"LEDGER_SPENDING_LIMITS", "", plain, text(&c.LedgerSpendingLimits)}, // ledger.ParseLimits reads it
		{"LEDGER_BATCH_WORKERS", "", plain, atLeast(&c.LedgerWorkers, 1)},
		{"LEDGER_MAX_BATCH", "", plain, atLeast(&c.LedgerMaxBatch, 1)},
		{"LEDGER_EXPIRY_EVERY", "30s", plain, duration(&c.LedgerExpiryEvery)},
		{"EVENTS_RETENTION", "720h", plain, duration(&c.EventsRetention)},
		{"EVENTS_SEQUENCE_EVERY", "100ms", plain, duration(&c.EventsSequenceEvery)},
		{"ERASURE_RETENTION", "720h", plain, duration(&c.ErasureRetention)},
		{"ERASURE_EVERY", "1m", plain, duration(&c.ErasureEvery)},

		{"TRACING_ENABLED", "false", plain, flag(&c.TracingEnabled)},
		{"TRACING_SAMPLE_RATIO", "0.1", plain, ratio(&c.TracingSampleRatio)},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "", plain, text(&c.OTLPEndpoint)},
		{"OTEL_EXPORTER_OTLP_HEADERS", "", secret, text(&c.OTLPHeaders)},
		{"OTEL_SERVICE_NAME", "flowxi", plain, text(&c.OTelServiceName)},
	}
}

// value is the variable's raw value as its source says.
func (s setting) value() string {
	if s.read == secret {
		if f := os.Getenv(s.name + "_FILE"); f != "" {
			if b, err := os.ReadFile(f); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
	}
	v, set := os.LookupEnv(s.name)
	switch {
	case s.read == orOff && set:
		return strings.TrimSpace(v)
	case v == "":
		return s.def
	}
	return v
}

// Production reports production mode.
func (c Config) Production() bool { return c.Env == "production" }

// Validate refuses settings that are unsafe or incomplete.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required"))
	}
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, errors.New("FLOWXI_ENV must be development or production"))
	}
	errs = append(errs, c.validateRings()...)
	if c.Production() {
		if c.SMTPURL == "" {
			errs = append(errs, errors.New("SMTP_URL is required in production (the log mail driver is for development)"))
		}
		if c.BenchmarkLedgerAuditOff || c.BenchmarkLedgerEventsOff {
			errs = append(errs, errors.New("the ledger's audit log and events cannot be turned off in production"))
		}
	}
	return errors.Join(errs...)
}

// EnsureLocalSecrets generates the two keys once into DataDir for local runs (each a one-key
// ring v1, as FLOWXI_ENCRYPTION_KEY and FLOWXI_HMAC_KEY would be), unless configured.
func (c *Config) EnsureLocalSecrets() error {
	if c.EncryptionRing() != "" && c.HMACRing() != "" {
		return nil
	}
	if c.Production() {
		return errors.New("config: secrets missing in production")
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	load := func(name string) (string, error) {
		p := filepath.Join(c.DataDir, name)
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return "", err
		}
		v := hex.EncodeToString(k)
		return v, os.WriteFile(p, []byte(v+"\n"), 0o600)
	}
	var err error
	if c.EncryptionRing() == "" {
		if c.EncryptionKey, err = load("encryption.key"); err != nil {
			return err
		}
	}
	if c.HMACRing() == "" {
		if c.HMACKey, err = load("hmac.key"); err != nil {
			return err
		}
	}
	return nil
}

// Default login rate limits per minute (DESIGN §4).
const (
	DefaultLoginRatePerEmailIP = 5
	DefaultLoginRatePerIP      = 30
)

// Default per-account guessing budget (DESIGN §4).
const (
	DefaultAccountGuessLimit  = 10
	DefaultAccountGuessWindow = 15 * time.Minute
)

// GuessBudget returns the per-account guessing budget, with the defaults for unset (zero)
// values.
func (c Config) GuessBudget() (limit int, window time.Duration) {
	limit, window = c.AccountGuessLimit, c.AccountGuessWindow
	if limit <= 0 {
		limit = DefaultAccountGuessLimit
	}
	if window <= 0 {
		window = DefaultAccountGuessWindow
	}
	return limit, window
}

// DefaultAuditSealEvery is the sealer's interval unless AUDIT_SEAL_EVERY says otherwise; the
// audit benchmark runs with it, as production does (tests seal more often to finish sooner).
const DefaultAuditSealEvery = time.Second

// LoginLimits returns the login limits per minute, with the defaults for unset (zero) values.
func (c Config) LoginLimits() (perEmailIP, perIP int) {
	perEmailIP, perIP = c.LoginRatePerEmailIP, c.LoginRatePerIP
	if perEmailIP <= 0 {
		perEmailIP = DefaultLoginRatePerEmailIP
	}
	if perIP <= 0 {
		perIP = DefaultLoginRatePerIP
	}
	return perEmailIP, perIP
}
