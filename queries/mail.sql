-- name: EnqueueMail :one
INSERT INTO mail_outbox (to_address, template, locale, subject, body_enc, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

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

-- name: ListMailBodiesToReseal :many
-- One batch of `flowxi keys reencrypt`, keyset by id: queued bodies not yet sealed under the
-- newest key (sent and failed rows have no body).
SELECT id, to_address, template, body_enc::bytea AS body_enc FROM mail_outbox
WHERE id > sqlc.arg(after)::bigint AND body_enc IS NOT NULL
  AND substring(body_enc from 1 for 5) <> sqlc.arg(header)::bytea
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: ResealMailBodies :execrows
-- Compare-and-set per row: a body wiped (sent) since the batch read it stays wiped.
UPDATE mail_outbox m SET body_enc = v.sealed
FROM (SELECT unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(olds)::bytea[]) AS old,
             unnest(sqlc.arg(news)::bytea[]) AS sealed) AS v
WHERE m.id = v.id AND m.body_enc = v.old;

-- name: CountMailBodiesToReseal :one
SELECT count(*) FROM mail_outbox
WHERE body_enc IS NOT NULL AND substring(body_enc from 1 for 5) <> sqlc.arg(header)::bytea;
