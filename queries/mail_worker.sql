-- name: GetMail :one
-- The message a mail.send job delivers (the job carries only its id).
SELECT * FROM mail_outbox WHERE id = $1;

-- name: MarkMailSent :exec
-- The body (codes, links) is wiped once delivered; a pending row only, so a job run twice
-- (rescued after its process died) records one delivery.
UPDATE mail_outbox SET status = 'sent', sent_at = sqlc.arg(now)::timestamptz, attempts = sqlc.arg(attempts),
    body_enc = NULL, last_error = NULL
WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: RetryMail :exec
-- A failed attempt: the job's attempt count and River's next attempt, recorded for operations.
UPDATE mail_outbox SET attempts = sqlc.arg(attempts), next_attempt_at = sqlc.arg(next_attempt_at)::timestamptz,
    last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: FailMail :exec
UPDATE mail_outbox SET status = 'failed', attempts = sqlc.arg(attempts), body_enc = NULL, last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND status = 'pending';
