package pg

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports an error that means PostgreSQL is not answering or is failing over: the
// connection could not be made or broke, the server is shutting down or starting, or the
// session landed on a read-only standby. The request is refused 503 SERVICE_UNAVAILABLE; a
// money request is then re-sent with its Idempotency-Key, which replays the outcome if its
// transaction did commit before the break and applies it otherwise.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now;
		// 25006: a write reached a standby (the primary changed under the pool); 53300: too
		// many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" ||
			pe.Code == "57P03" || pe.Code == "25006" || pe.Code == "53300"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) && pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "closed pool") || strings.Contains(s, "conn closed") ||
		strings.Contains(s, "unexpected EOF") || strings.Contains(s, "server closed the connection")
}

// retryableConnect reports a failure that happened before anything reached the server (a
// connection that could not be made, or was found closed when taken from the pool): running
// the transaction again cannot apply it twice.
func retryableConnect(err error) bool {
	return err != nil && pgconn.SafeToRetry(err)
}
