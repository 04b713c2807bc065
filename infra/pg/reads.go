package pg

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flowxi/backend/gen/db"
)

// Reads serves the reads that tolerate lag (DATABASE_READ_URL) from a replica while its replay
// is within MaxLag of the primary, and from the primary otherwise — when the replica lags
// further, does not answer, or has not been measured yet. It is never used for a read that
// decides anything: those stay on the primary's Store. Q is the query set over it.
type Reads struct {
	Q       *db.Queries
	primary *pgxpool.Pool
	replica *pgxpool.Pool
	maxLag  time.Duration
	fresh   atomic.Bool
	lag     atomic.Int64 // last measured lag, ns (-1: not measured / not answering)
	log     *slog.Logger
}

// OpenReads connects to the replica at url, with the statement tracer on its connections (nil:
// none; the primary's pools get the same one), and measures its lag once.
func OpenReads(ctx context.Context, url string, primary *Store, maxLag time.Duration, tracer pgx.QueryTracer, log *slog.Logger) (*Reads, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse DATABASE_READ_URL: %w", err)
	}
	if tracer != nil {
		cfg.ConnConfig.Tracer = tracer
	}
	replica, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect DATABASE_READ_URL: %w", err)
	}
	r := &Reads{primary: primary.Pool, replica: replica, maxLag: maxLag, log: log}
	r.Q = db.New(r)
	r.lag.Store(-1)
	_ = r.Check(ctx)
	return r, nil
}

// Or is the query set of the lag-tolerant reads: the replica's, or primary's when no replica
// is configured (r is nil).
func (r *Reads) Or(primary *Store) *db.Queries {
	if r == nil {
		return primary.Q
	}
	return r.Q
}

// ReadTx runs fn in one read-only transaction on the pool Reads chooses now (the replica within
// the bound, else the primary), for a lag-tolerant read that needs several statements or
// transaction-local settings. With no replica configured (r is nil) it is primary's Tx.
func (r *Reads) ReadTx(primary *Store) func(ctx context.Context, fn func(q *db.Queries) error) error {
	if r == nil {
		return primary.Tx
	}
	return func(ctx context.Context, fn func(q *db.Queries) error) error {
		return pgx.BeginTxFunc(ctx, r.pool(), pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			return fn(db.New(tx))
		})
	}
}

// lagSQL is how far the replica's replay is behind: zero when it has replayed all it received
// (or is not a standby at all), else the age of the last transaction it replayed.
const lagSQL = `SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
	ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END::float8`

// Check measures the replica's lag now and decides where the reads go until the next check.
func (r *Reads) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var secs float64
	if err := r.replica.QueryRow(ctx, lagSQL).Scan(&secs); err != nil {
		r.lag.Store(-1)
		r.set(false, err)
		return err
	}
	lag := time.Duration(secs * float64(time.Second))
	r.lag.Store(int64(lag))
	r.set(lag <= r.maxLag, nil)
	return nil
}

func (r *Reads) set(fresh bool, err error) {
	if r.fresh.Swap(fresh) != fresh && r.log != nil {
		r.log.Warn("read replica", "serving", map[bool]string{true: "replica", false: "primary"}[fresh],
			"lag", time.Duration(r.lag.Load()).String(), "error", fmt.Sprint(err))
	}
}

// Run re-measures the lag every second until ctx ends (a worker of the app).
func (r *Reads) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Check(ctx)
		}
	}
}

// OnReplica reports whether reads go to the replica now; Lag is the last measured lag (-1:
// the replica did not answer).
func (r *Reads) OnReplica() bool    { return r.fresh.Load() }
func (r *Reads) Lag() time.Duration { return time.Duration(r.lag.Load()) }

func (r *Reads) pool() *pgxpool.Pool {
	if r.fresh.Load() {
		return r.replica
	}
	return r.primary
}

// Exec, Query, QueryRow and SendBatch make Reads a db.DBTX.
func (r *Reads) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return r.pool().Exec(ctx, sql, args...)
}

// Query runs a read on the chosen pool.
func (r *Reads) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.pool().Query(ctx, sql, args...)
}

// QueryRow runs a one-row read on the chosen pool.
func (r *Reads) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return r.pool().QueryRow(ctx, sql, args...)
}

// SendBatch runs a pipelined batch on the chosen pool.
func (r *Reads) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return r.pool().SendBatch(ctx, b)
}

// Close closes the replica's pool (the primary's belongs to its Store).
func (r *Reads) Close() { r.replica.Close() }
