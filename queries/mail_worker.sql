-- name: ClaimDueMail :many
-- Leases up to `batch` due messages: their next attempt moves to `lease_until`, so a worker that dies
-- mid-send leaves them to be retried, and concurrent workers skip rows another one is claiming.
UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = sqlc.arg(lease_until)::timestamptz
WHERE id IN (
    SELECT id FROM mail_outbox
    WHERE status = 'pending' AND next_attempt_at <= sqlc.arg(now)::timestamptz
    ORDER BY next_attempt_at, id
    LIMIT sqlc.arg(batch)::int
    FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: MarkMailSent :exec
-- The body (codes, links) is wiped once delivered.
UPDATE mail_outbox SET status = 'sent', sent_at = sqlc.arg(now)::timestamptz, body_enc = NULL, last_error = NULL
WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: RetryMail :exec
UPDATE mail_outbox SET next_attempt_at = sqlc.arg(next_attempt_at)::timestamptz, last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: FailMail :exec
UPDATE mail_outbox SET status = 'failed', body_enc = NULL, last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND status = 'pending';
