// Package config reads the environment once into a typed struct with defaults and validation.
// Values, not the struct, are passed on to constructors.
package config

import (
	"crypto/rand"
	"encoding/base64"
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
	Env            string // development | production
	HTTPAddr       string
	MetricsAddr    string
	DatabaseURL    string
	RedisURL       string
	RedisPrefix    string
	EncryptionKey  string `redact:"all"` // 32 bytes hex/base64 (FLOWXI_ENCRYPTION_KEY)
	HMACKey        string `redact:"all"` // 32 bytes hex/base64 (FLOWXI_HMAC_KEY)
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

	// MailPollInterval is how often the mail worker looks for due outbox rows (MAIL_POLL_INTERVAL).
	MailPollInterval time.Duration

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

	// BenchmarkLedgerAuditOff stops the ledger from writing audit events for money movements. It
	// exists only so that `make bench` can measure what the audit log costs (issue: throughput with
	// it on within 10 % of off); nothing reads it from the environment and production refuses it.
	BenchmarkLedgerAuditOff bool
}

// Load reads the environment.
func Load() (Config, error) {
	c := Config{
		Env:             get("FLOWXI_ENV", "development"),
		HTTPAddr:        get("HTTP_ADDR", "127.0.0.1:8080"),
		MetricsAddr:     getOrOff("METRICS_ADDR", "127.0.0.1:9090"),
		DatabaseURL:     get("DATABASE_URL", ""),
		RedisURL:        get("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:     get("REDIS_PREFIX", "flowxi:"),
		EncryptionKey:   secret("FLOWXI_ENCRYPTION_KEY"),
		HMACKey:         secret("FLOWXI_HMAC_KEY"),
		FrontendURL:     get("FRONTEND_URL", "http://localhost:3000"),
		PublicURL:       get("PUBLIC_URL", ""),
		SMTPURL:         secret("SMTP_URL"),
		MailFrom:        get("MAIL_FROM", "Flowxi <no-reply@flowxi.app>"),
		LogLevel:        get("LOG_LEVEL", "info"),
		DataDir:         get("FLOWXI_DATA_DIR", ".data"),
		SkipMigrations:  get("SKIP_MIGRATIONS", "") == "1",
		StorageDriver:   get("STORAGE_DRIVER", "local"),
		S3Endpoint:      get("S3_ENDPOINT", ""),
		S3Region:        get("S3_REGION", "us-east-1"),
		S3Bucket:        get("S3_BUCKET", ""),
		S3AccessKey:     secret("S3_ACCESS_KEY"),
		S3SecretKey:     secret("S3_SECRET_KEY"),
		S3PathStyle:     get("S3_PATH_STYLE", "true") == "true",
		Argon2MemoryKiB: 19 * 1024,
		Argon2Time:      2,
	}
	var err error
	if v := os.Getenv("ARGON2_MEMORY_KIB"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < 1024 {
			return c, fmt.Errorf("config: ARGON2_MEMORY_KIB must be an integer ≥ 1024")
		}
		c.Argon2MemoryKiB = uint32(n)
	}
	if v := os.Getenv("ARGON2_TIME"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < 1 {
			return c, fmt.Errorf("config: ARGON2_TIME must be an integer ≥ 1")
		}
		c.Argon2Time = uint32(n)
	}
	if c.TokenTTL, err = duration("TOKEN_TTL", 30*24*time.Hour); err != nil {
		return c, err
	}
	if c.TokenIdleTTL, err = duration("TOKEN_IDLE_TTL", 7*24*time.Hour); err != nil {
		return c, err
	}
	if c.AuditSealEvery, err = duration("AUDIT_SEAL_EVERY", DefaultAuditSealEvery); err != nil {
		return c, err
	}
	if c.AuditStaleAfter, err = duration("AUDIT_STALE_AFTER", 5*time.Minute); err != nil {
		return c, err
	}
	if c.MailPollInterval, err = duration("MAIL_POLL_INTERVAL", time.Second); err != nil {
		return c, err
	}
	if c.LoginRatePerEmailIP, err = positiveInt("LOGIN_RATE_EMAIL_IP", DefaultLoginRatePerEmailIP); err != nil {
		return c, err
	}
	if c.LoginRatePerIP, err = positiveInt("LOGIN_RATE_IP", DefaultLoginRatePerIP); err != nil {
		return c, err
	}
	if c.DocumentVersionsPerKind, err = positiveInt("DOCUMENT_VERSIONS_PER_KIND", 0); err != nil {
		return c, err
	}
	if c.DocumentUploadsPerHour, err = positiveInt("DOCUMENT_UPLOADS_PER_HOUR", 0); err != nil {
		return c, err
	}
	if v := os.Getenv("DOCUMENT_BYTES_PER_CASE"); v != "" {
		if c.DocumentBytesPerCase, err = strconv.ParseInt(v, 10, 64); err != nil || c.DocumentBytesPerCase <= 0 {
			return c, fmt.Errorf("config: DOCUMENT_BYTES_PER_CASE: %q is not a positive integer", v)
		}
	}
	if c.AccountGuessLimit, err = positiveInt("ACCOUNT_GUESS_LIMIT", DefaultAccountGuessLimit); err != nil {
		return c, err
	}
	if c.AccountGuessWindow, err = duration("ACCOUNT_GUESS_WINDOW", DefaultAccountGuessWindow); err != nil {
		return c, err
	}
	for _, p := range split(get("TRUSTED_PROXIES", "")) {
		pfx, err := parsePrefix(p)
		if err != nil {
			return c, fmt.Errorf("config: TRUSTED_PROXIES: %w", err)
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	c.CORSOrigins = split(get("CORS_ORIGINS", ""))
	c.LedgerCurrencies = split(get("LEDGER_CURRENCIES", "EUR,XOF,USD"))
	c.LedgerSpendingLimits = os.Getenv("LEDGER_SPENDING_LIMITS")
	for k, p := range map[string]*int64{"LEDGER_TRANSFER_LIMIT": &c.LedgerTransferLimit} {
		if v := os.Getenv(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("config: %s: %q is not a positive integer", k, v)
			}
			*p = n
		}
	}
	for k, p := range map[string]*int{"LEDGER_BATCH_WORKERS": &c.LedgerWorkers, "LEDGER_MAX_BATCH": &c.LedgerMaxBatch} {
		if v := os.Getenv(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("config: %s: %q is not a positive integer", k, v)
			}
			*p = n
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	return c, nil
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
	if c.Production() {
		if c.EncryptionKey == "" || c.HMACKey == "" {
			errs = append(errs, errors.New("FLOWXI_ENCRYPTION_KEY and FLOWXI_HMAC_KEY are required in production"))
		}
		if c.EncryptionKey == c.HMACKey && c.EncryptionKey != "" {
			errs = append(errs, errors.New("FLOWXI_ENCRYPTION_KEY and FLOWXI_HMAC_KEY must differ"))
		}
		for name, k := range map[string]string{"FLOWXI_ENCRYPTION_KEY": c.EncryptionKey, "FLOWXI_HMAC_KEY": c.HMACKey} {
			if k != "" && weakKey(k) {
				errs = append(errs, fmt.Errorf("%s looks like a default or test key: generate 32 random bytes", name))
			}
		}
		if c.SMTPURL == "" {
			errs = append(errs, errors.New("SMTP_URL is required in production (the log mail driver is for development)"))
		}
		if c.BenchmarkLedgerAuditOff {
			errs = append(errs, errors.New("the ledger's audit log cannot be turned off in production"))
		}
	}
	return errors.Join(errs...)
}

// EnsureLocalSecrets generates the two keys once into DataDir for local runs.
func (c *Config) EnsureLocalSecrets() error {
	if c.EncryptionKey != "" && c.HMACKey != "" {
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
	if c.EncryptionKey == "" {
		if c.EncryptionKey, err = load("encryption.key"); err != nil {
			return err
		}
	}
	if c.HMACKey == "" {
		if c.HMACKey, err = load("hmac.key"); err != nil {
			return err
		}
	}
	return nil
}

// weakKey reports a key that is not 32 random-looking bytes (e.g. "1111…", a placeholder).
func weakKey(k string) bool {
	b, err := hex.DecodeString(k)
	if err != nil || len(b) != 32 {
		if b, err = base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			return true
		}
	}
	distinct := map[byte]bool{}
	for _, x := range b {
		distinct[x] = true
	}
	return len(distinct) < 12
}

func get(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}

// getOrOff reads a setting whose empty value turns its feature off (README: "empty: off"), so
// unset and empty differ: unset gives the default, empty gives "".
func getOrOff(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return strings.TrimSpace(v)
	}
	return def
}

// secret reads K, or the file named by K_FILE.
func secret(k string) string {
	if f := os.Getenv(k + "_FILE"); f != "" {
		if b, err := os.ReadFile(f); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return os.Getenv(k)
}

func duration(k string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(k)
	if v == "" {
		return def, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	secs, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("config: %s: %q is not a duration", k, v)
	}
	return time.Duration(secs) * time.Second, nil
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

func positiveInt(k string, def int) (int, error) {
	v := os.Getenv(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("config: %s: %q is not a positive integer", k, v)
	}
	return n, nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
