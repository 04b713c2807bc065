// Package testkit is the harness every test uses: the real server (app.New) over real HTTP on
// real PostgreSQL (one fresh, migrated database per test package) and real Redis (one key
// prefix per test), with every response validated against openapi.yaml.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flowxi/backend/app"
	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/clock"
)

// Env is one test's running server.
type Env struct {
	T testing.TB
	// app is the running instance; tests reach its parts through the typed helpers of this
	// package (parts.go, sql.go, money.go), never through App.
	app    *app.App
	parts  app.Parts
	Server *httptest.Server
	Clock  *clock.Fake
	URL    string
	Cfg    config.Config
}

var (
	dbOnce sync.Once
	dbURL  string
	dbName string
	dbErr  error
)

// AdminDatabaseURL is the server URL tests create their databases on.
func AdminDatabaseURL() string {
	if u := os.Getenv("FLOWXI_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return os.Getenv("DATABASE_URL")
}

// RedisURL is the Redis tests use. With FLOWXI_TEST_REDIS=cluster it is a Redis Cluster this
// test binary starts (3 primaries, a replica each) and shares.
func RedisURL() string {
	if os.Getenv("FLOWXI_TEST_REDIS") == "cluster" {
		u, err := clusterRedisURL()
		if err != nil {
			panic("testkit: redis cluster: " + err.Error())
		}
		return u
	}
	if u := os.Getenv("FLOWXI_TEST_REDIS_URL"); u != "" {
		return u
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// packageDatabase creates and migrates this package's database once.
func packageDatabase(t testing.TB) string {
	dbOnce.Do(func() { dbName, dbURL, dbErr = createDatabase(context.Background()) })
	if dbErr != nil {
		t.Fatalf("testkit: database: %v", dbErr)
	}
	return dbURL
}

// createDatabase creates a database on the test server and migrates it: its name and URL.
func createDatabase(ctx context.Context) (string, string, error) {
	admin := AdminDatabaseURL()
	if admin == "" {
		return "", "", fmt.Errorf("FLOWXI_TEST_DATABASE_URL is not set: run the suite with `make test`")
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(ctx)
	name := "flowxi_test_" + RandomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return name, "", err
	}
	u.Path = "/" + name
	st, err := pg.Open(ctx, u.String(), 2)
	if err != nil {
		return name, "", err
	}
	defer st.Close()
	return name, u.String(), st.Migrate(ctx)
}

// dropDatabase drops a database created by createDatabase.
func dropDatabase(ctx context.Context, name string) {
	if conn, err := pgx.Connect(ctx, AdminDatabaseURL()); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(ctx)
	}
}

// FreshDatabase creates and migrates a database of its own for one test or benchmark (dropped
// when it ends), for data that must not share the package database: pass the URL returned to
// New through config.Config.DatabaseURL. Start the Env after this call, so that it closes first.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	name, u, err := createDatabase(context.Background())
	if name != "" {
		t.Cleanup(func() { dropDatabase(context.Background(), name) })
	}
	if err != nil {
		t.Fatalf("testkit: database: %v", err)
	}
	return u
}

// Main runs the package's tests and drops its database afterwards. Use it from TestMain.
func Main(m interface{ Run() int }) {
	code := m.Run()
	stopSharedCluster()
	if dbName != "" {
		dropDatabase(context.Background(), dbName)
	}
	os.Exit(code)
}

// DatabaseURL returns the package database (created on first use).
func DatabaseURL(t testing.TB) string { return packageDatabase(t) }

// Config returns the test configuration for a fresh Env: package database, a unique Redis
// prefix, cheap argon2id, fixed keys.
func Config(t testing.TB) config.Config {
	return config.Config{
		Env:            "development",
		HTTPAddr:       "127.0.0.1:0",
		DatabaseURL:    packageDatabase(t),
		RedisURL:       RedisURL(),
		RedisPrefix:    "t:" + RandomHex(6) + ":",
		EncryptionKey:  strings.Repeat("11", 32),
		HMACKey:        strings.Repeat("22", 32),
		FrontendURL:    "https://app.flowxi.test",
		LogLevel:       "error",
		SkipMigrations: true,
		DataDir:        t.TempDir(),
		TokenTTL:       30 * 24 * 3600e9,
		TokenIdleTTL:   7 * 24 * 3600e9,
		AuditSealEvery: 200e6,
		// Tests sweep expired holds themselves (Env.Ledger().ExpireHolds), with the fake clock.
		LedgerExpiryEvery: time.Hour,
		AuditStaleAfter:   60e9,
		Argon2MemoryKiB:   1024,
		Argon2Time:        1,
		StorageDriver:     "local",

		MailFrom:         "Flowxi <no-reply@flowxi.test>",
		JobsPollInterval: 50 * time.Millisecond,
	}
}

// New starts a server with the test configuration, optionally adjusted.
func New(t testing.TB, adjust ...func(*config.Config)) *Env {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if os.Getenv("FLOWXI_TEST_LOG") != "" {
		log = app.NewLogger("debug")
	}
	return newEnv(t, log, &clock.Fake{}, adjust)
}

// Sibling starts another instance on e's configuration — its database, Redis prefix and fake
// clock — adjusted: the same deployment with a new instance, e.g. restarted with another key
// ring. Both serve until the test ends (StopWorkers stops one's background work).
func (e *Env) Sibling(adjust ...func(*config.Config)) *Env {
	e.T.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	cfg := e.Cfg
	return newEnv(e.T, log, e.Clock, append([]func(*config.Config){func(c *config.Config) { *c = cfg }}, adjust...))
}

// NewWithLog is New with every log line, at debug level, written to w (tests that check what
// the logs must never contain).
func NewWithLog(t testing.TB, w io.Writer, adjust ...func(*config.Config)) *Env {
	t.Helper()
	return newEnv(t, slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), &clock.Fake{}, adjust)
}

func newEnv(t testing.TB, log *slog.Logger, fc *clock.Fake, adjust []func(*config.Config)) *Env {
	t.Helper()
	cfg := Config(t)
	for _, f := range adjust {
		f(&cfg)
	}
	a, err := app.New(context.Background(), cfg, app.WithClock(fc), app.WithLogger(log))
	if err != nil {
		t.Fatalf("testkit: app: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	a.StartWorkers(context.Background())
	env := &Env{T: t, app: a, parts: a.Testing(), Server: srv, Clock: fc, URL: srv.URL, Cfg: cfg}
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		ctx := context.Background()
		keys, _ := env.parts.Cache.ScanKeys(ctx, cfg.RedisPrefix+"*")
		for _, k := range keys {
			env.parts.Cache.R.Del(ctx, k)
		}
	})
	return env
}

// RandomHex is n random bytes in hex: unique names, keys and references for a test's rows.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
