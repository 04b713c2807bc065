-- name: EnqueueMail :one
INSERT INTO mail_outbox (to_address, template, locale, subject, body_enc, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;
