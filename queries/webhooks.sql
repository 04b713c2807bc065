-- name: NextWebhookSubscriptionID :one
SELECT nextval(pg_get_serial_sequence('webhook_subscriptions', 'id'))::bigint AS id;

-- name: InsertWebhookSubscription :one
INSERT INTO webhook_subscriptions (id, url, description, event_types, secret_sealed, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING *;

-- name: GetWebhookSubscription :one
SELECT * FROM webhook_subscriptions WHERE id = $1;

-- name: LockWebhookSubscription :one
SELECT * FROM webhook_subscriptions WHERE id = $1 FOR UPDATE;

-- name: ListWebhookSubscriptions :many
SELECT * FROM webhook_subscriptions WHERE id > sqlc.arg(after) ORDER BY id LIMIT sqlc.arg(max_rows);

-- name: UpdateWebhookSubscription :one
UPDATE webhook_subscriptions
SET url = sqlc.arg(url), description = sqlc.narg(description), event_types = sqlc.arg(event_types), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: SetWebhookSubscriptionStatus :one
UPDATE webhook_subscriptions
SET status = sqlc.arg(status), failing_since = sqlc.narg(failing_since), disabled_at = sqlc.narg(disabled_at), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: RotateWebhookSecret :one
UPDATE webhook_subscriptions
SET secret_sealed = sqlc.arg(secret_sealed), previous_secret_sealed = sqlc.narg(previous_secret_sealed),
    previous_secret_expires_at = sqlc.narg(previous_secret_expires_at), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: DeleteWebhookSubscription :execrows
DELETE FROM webhook_subscriptions WHERE id = $1;
