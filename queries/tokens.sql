-- name: LockUserDevice :exec
-- Serialises token issue for one (user, device) within the transaction.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(user_id)::bigint::text || '|' || sqlc.arg(device_key)::text, 0));

-- name: RevokeDeviceTokens :execrows
UPDATE access_tokens SET revoked_at = $3
WHERE user_id = $1 AND device_id = $2 AND revoked_at IS NULL;

-- name: InsertAccessToken :one
INSERT INTO access_tokens (user_id, secret_hash, device_id, device_type, device_name, country, ip, user_agent, created_at, last_used_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
RETURNING *;

-- name: GetLiveAccessToken :one
SELECT t.*, u.status AS user_status, u.locale AS user_locale, u.twofa_enabled AS user_twofa_enabled
FROM access_tokens t JOIN users u ON u.id = t.user_id
WHERE t.id = $1 AND t.revoked_at IS NULL;

-- name: TouchAccessToken :exec
-- last_used_at is written at most once a minute per token.
UPDATE access_tokens SET last_used_at = sqlc.arg(now)::timestamptz, ip = sqlc.arg(ip)
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(now)::timestamptz - interval '1 minute');

-- name: RevokeAllUserTokens :execrows
UPDATE access_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL;

-- name: RememberDevice :execrows
-- Returns 1 when the device is new for the user.
INSERT INTO known_devices (user_id, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;
