// Package pg owns the PostgreSQL pool, the embedded migrations and transactions. It is the
// only place (with gen/db) that knows pgx.
package pg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/migrations"
)

// Store is the database handle shared by services.
type Store struct {
	Pool *pgxpool.Pool
	Q    *db.Queries
}

// Setting is a session parameter set on every connection of a pool.
type Setting struct{ Name, Value string }

// KeyedAccess is for a pool whose statements only ever reach rows by key (the ledger's posting
// engine): one generic plan per statement, built from index lookups and nested loops only.
// PostgreSQL's default re-plans array-taking statements on every execution (its custom-plan
// estimate knows the arrays' length), which made the posting statement spend more time planning
// than running; and a generic plan built while a table was small (a fresh database, the first
// batches after start) would otherwise stay a hash join over a full scan for the life of the
// connection as the table grows — measured: the idempotency lookup grew 10x that way.
var KeyedAccess = []Setting{
	{"plan_cache_mode", "force_generic_plan"},
	{"enable_seqscan", "off"},
	{"enable_hashjoin", "off"},
	{"enable_mergejoin", "off"},
}

// Open connects a pool to url, with optional session settings (a URL that sets one wins).
func Open(ctx context.Context, url string, maxConns int32, settings ...Setting) (*Store, error) {
	return OpenTraced(ctx, url, maxConns, nil, settings...)
}

// OpenTraced is Open with a statement tracer on every connection (nil: none, as Open).
func OpenTraced(ctx context.Context, url string, maxConns int32, tracer pgx.QueryTracer, settings ...Setting) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	for _, st := range settings {
		if _, set := cfg.ConnConfig.RuntimeParams[st.Name]; !set {
			cfg.ConnConfig.RuntimeParams[st.Name] = st.Value
		}
	}
	if tracer != nil {
		cfg.ConnConfig.Tracer = tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return &Store{Pool: pool, Q: db.New(pool)}, nil
}

// Close releases the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.Pool.Ping(ctx) }

// Migrate applies every embedded migration under a PostgreSQL advisory lock, so several
// instances can start at once.
func (s *Store) Migrate(ctx context.Context) error {
	sqlDB := stdlib.OpenDBFromPool(s.Pool)
	defer sqlDB.Close()
	sub, err := fs.Sub(migrations.FS, ".")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker),
		goose.WithGoMigrations(riverMigration(s.Pool)))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Tx runs fn in a READ COMMITTED transaction and commits it. Serialization failures and
// deadlocks are retried a bounded number of times, so clients never see them. While fn runs,
// TxOf(q) returns the transaction, so a background job can be enqueued in it (infra/jobs).
func (s *Store) Tx(ctx context.Context, fn func(q *db.Queries) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			q := s.Q.WithTx(tx)
			open.Store(q, tx)
			defer open.Delete(q)
			return fn(q)
		})
		if !Retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

// open maps the queries handed to a running Tx callback to their transaction.
var open sync.Map // *db.Queries → pgx.Tx

// TxOf returns the transaction q is bound to while Store.Tx runs its callback; false for
// queries outside a transaction (Store.Q) or after the callback returned.
func TxOf(q *db.Queries) (pgx.Tx, bool) {
	tx, ok := open.Load(q)
	if !ok {
		return nil, false
	}
	return tx.(pgx.Tx), true
}

// Retryable reports a serialization failure or deadlock, or a connection failure that happened
// before anything reached the server (a pool connection found dead after a failover).
func Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") || retryableConnect(err)
}

// IsNotFound reports a missing row.
func IsNotFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// ErrNotFound is the error of a missing row, for code that finds a row missing itself (a :many
// query that returned none): IsNotFound reports it.
var ErrNotFound = pgx.ErrNoRows

// IsUniqueViolation reports SQLSTATE 23505 (optionally on a named constraint).
func IsUniqueViolation(err error, constraint ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return false
	}
	return len(constraint) == 0 || pe.ConstraintName == constraint[0]
}
