package testkit

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Raw SQL is allowed in tests for two things only: planting a state no operation can reach
// (a corrupted ledger row for `ledger check` to report, a blocked user, an exhausted counter)
// and reading what no operation shows (a stored hash, an outbox row, a count). Everything else
// goes through the API (Env.Do) or the typed helpers of this package.

// DB is the package database's pool, for a test that needs a connection of its own (session
// settings, a superuser bypassing a trigger) or many statements in a row.
func (e *Env) DB() *pgxpool.Pool { return e.parts.Store.Pool }

// ExecSQL runs a statement that plants a state and fails the test on error.
func (e *Env) ExecSQL(sql string, args ...any) {
	e.T.Helper()
	if _, err := e.parts.Store.Pool.Exec(context.Background(), sql, args...); err != nil {
		e.T.Fatalf("testkit: %s: %v", sql, err)
	}
}

// TryExecSQL runs a statement and returns its error (tests that expect the database to refuse).
func (e *Env) TryExecSQL(sql string, args ...any) error {
	_, err := e.parts.Store.Pool.Exec(context.Background(), sql, args...)
	return err
}

// QueryRow reads one row; the error comes with Scan.
func (e *Env) QueryRow(sql string, args ...any) pgx.Row {
	return e.parts.Store.Pool.QueryRow(context.Background(), sql, args...)
}

// Scan reads one row into dest and fails the test on error.
func (e *Env) Scan(sql string, args []any, dest ...any) {
	e.T.Helper()
	if err := e.QueryRow(sql, args...).Scan(dest...); err != nil {
		e.T.Fatalf("testkit: %s: %v", sql, err)
	}
}

// Query reads rows and fails the test on error; the caller closes them.
func (e *Env) Query(sql string, args ...any) pgx.Rows {
	e.T.Helper()
	rows, err := e.parts.Store.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		e.T.Fatalf("testkit: %s: %v", sql, err)
	}
	return rows
}

// Strings reads the one text column of every row a query returns, in order, and fails the test
// on error.
func (e *Env) Strings(sql string, args ...any) []string {
	e.T.Helper()
	out, err := pgx.CollectRows(e.Query(sql, args...), pgx.RowTo[string])
	if err != nil {
		e.T.Fatalf("testkit: %s: %v", sql, err)
	}
	return out
}

// Count runs a query returning one integer (a count(*)).
func (e *Env) Count(sql string, args ...any) int {
	e.T.Helper()
	var n int
	e.Scan(sql, args, &n)
	return n
}

// CopyRowsErr is CopyRows returning its error, for copies that run on goroutines of their own
// (a test may fail only from its own goroutine).
func (e *Env) CopyRowsErr(table string, columns []string, next func() ([]any, error)) (int64, error) {
	return e.parts.Store.Pool.CopyFrom(context.Background(), pgx.Identifier{table}, columns, pgx.CopyFromFunc(next))
}

// CopyRows bulk-loads rows into table with COPY (a benchmark's seed: a million-entry history in
// seconds). next returns the rows one by one and nil after the last; it returns the rows copied.
func (e *Env) CopyRows(table string, columns []string, next func() ([]any, error)) int64 {
	e.T.Helper()
	n, err := e.parts.Store.Pool.CopyFrom(context.Background(), pgx.Identifier{table}, columns, pgx.CopyFromFunc(next))
	if err != nil {
		e.T.Fatalf("testkit: copy into %s: %v", table, err)
	}
	return n
}
