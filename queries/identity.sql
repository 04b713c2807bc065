-- Queries of services/identity: devices, logout, password-hash upgrade; its tokens, the users table and internal keys below.

-- name: ListActiveDevices :many
-- Live device-bound tokens (not revoked, not past their absolute or idle expiry), newest use first.
-- Legacy tokens without a device are excluded.
SELECT id, device_id, device_type, device_name, country, ip, created_at, last_used_at
FROM access_tokens
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND device_id IS NOT NULL
  AND expires_at > sqlc.arg(now)::timestamptz
  AND COALESCE(last_used_at, created_at) >= sqlc.arg(idle_cutoff)::timestamptz
ORDER BY COALESCE(last_used_at, created_at) DESC, id DESC;

-- name: RevokeLiveDeviceToken :many
-- Revokes the live token(s) of one device of the user; returns their ids (none: unknown device).
UPDATE access_tokens SET revoked_at = sqlc.arg(now)::timestamptz
WHERE user_id = sqlc.arg(user_id)
  AND device_id = sqlc.arg(device_id)::text
  AND revoked_at IS NULL
  AND expires_at > sqlc.arg(now)::timestamptz
  AND COALESCE(last_used_at, created_at) >= sqlc.arg(idle_cutoff)::timestamptz
RETURNING id;

-- name: RevokeCurrentToken :execrows
UPDATE access_tokens SET revoked_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND revoked_at IS NULL;

-- name: RevokeOtherTokens :many
-- Revokes every unrevoked token of the user but keep_id; live tells which ones could still be used.
UPDATE access_tokens SET revoked_at = sqlc.arg(now)::timestamptz
WHERE user_id = sqlc.arg(user_id) AND id <> sqlc.arg(keep_id) AND revoked_at IS NULL
RETURNING id, (expires_at > sqlc.arg(now)::timestamptz
               AND COALESCE(last_used_at, created_at) >= sqlc.arg(idle_cutoff)::timestamptz)::boolean AS live;

-- name: UpgradePasswordHash :execrows
-- Replaces the hash only if it is still the one just verified: a concurrent password change wins.
UPDATE users SET password_hash = sqlc.arg(new_hash)::text, updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND password_hash = sqlc.arg(old_hash)::text;

-- Tokens (services/identity/tokens, sessions) ---------------------------------------------------

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

-- name: GetLiveAccessToken :batchone
-- One request's live (not revoked) token with its user. The lookups of concurrent requests are
-- sent together as one pipelined batch of this statement (tokens.group): one round trip, and
-- each lookup runs on the statement's cached generic plan. (One statement over an array of ids
-- was planned anew on every call: its custom plan, cheaper for each array's length, always won.)
SELECT t.*, u.status AS user_status, u.locale AS user_locale, u.twofa_enabled AS user_twofa_enabled
FROM access_tokens t JOIN users u ON u.id = t.user_id
WHERE t.id = $1 AND t.revoked_at IS NULL;

-- name: TouchAccessToken :batchexec
-- last_used_at is written at most once a minute per token (re-checked here); the touches of
-- concurrent requests are one pipelined batch, committed together (tokens.group). An empty ip
-- is stored as NULL.
UPDATE access_tokens SET last_used_at = sqlc.arg(now)::timestamptz, ip = NULLIF(sqlc.arg(ip)::text, '')
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(now)::timestamptz - interval '1 minute');

-- name: RevokeAllUserTokens :execrows
UPDATE access_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL;

-- name: RememberDevice :execrows
-- Returns 1 when the device is new for the user.
INSERT INTO known_devices (user_id, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- Users (shared by identity, registration, profile) ---------------------------------------------

-- name: GetUserByID :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: GetUserByEmailForUpdate :one
SELECT * FROM users WHERE email = $1 FOR UPDATE;

-- name: GetUserByIDForUpdate :one
SELECT * FROM users WHERE id = $1 FOR UPDATE;

-- name: CreatePendingUser :one
-- Creates a pending user or returns the existing row untouched (ON CONFLICT keeps concurrent sends safe).
INSERT INTO users (email, locale) VALUES ($1, $2)
ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
RETURNING *;

-- name: SetUsername :exec
UPDATE users SET username = $2 WHERE id = $1 AND username IS NULL;

-- name: EnsureNotificationPreferences :exec
INSERT INTO notification_preferences (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING;

-- name: ActivateUser :one
UPDATE users
SET status = 'active', password_hash = sqlc.arg(password_hash), email_verified_at = COALESCE(email_verified_at, sqlc.arg(now)::timestamptz), updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND status = 'pending'
RETURNING *;

-- name: SetPasswordHash :exec
UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1;

-- name: SetUserStatus :one
UPDATE users SET status = $2, updated_at = $3 WHERE id = $1 RETURNING *;

-- Internal keys (services/identity/internalkeys) --------------------------------------------------

-- name: CreateExpiringInternalKey :one
INSERT INTO internal_keys (name, key_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id;

-- name: GetInternalKeyByHash :one
-- A key is live when not revoked, not past its expiry, and the hash is its current one or, until
-- previous_expires_at, the one it was rotated from.
SELECT id, name, scopes, last_used_at FROM internal_keys
WHERE (key_hash = sqlc.arg(key_hash) OR (previous_key_hash = sqlc.arg(key_hash) AND previous_expires_at > sqlc.arg(now)::timestamptz))
  AND revoked_at IS NULL
  AND (expires_at IS NULL OR expires_at > sqlc.arg(now)::timestamptz);

-- name: TouchInternalKey :exec
-- last_used_at is written at most once a minute per key.
UPDATE internal_keys SET last_used_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(now)::timestamptz - interval '1 minute');

-- name: ListInternalKeys :many
SELECT id, name, scopes, created_at, expires_at, last_used_at, rotated_at, previous_expires_at, revoked_at
FROM internal_keys ORDER BY id;

-- name: GetInternalKeyByNameForUpdate :one
SELECT id, name, scopes, created_at, expires_at, last_used_at, rotated_at, previous_expires_at, revoked_at
FROM internal_keys WHERE name = $1 FOR UPDATE;

-- name: RotateInternalKey :one
-- The current hash becomes the previous one until previous_expires_at (an earlier previous hash is
-- dropped at once); NULL previous_expires_at (no overlap) ends the old key now.
UPDATE internal_keys
SET previous_key_hash = CASE WHEN sqlc.narg(previous_expires_at)::timestamptz IS NULL THEN NULL ELSE key_hash END,
    previous_expires_at = sqlc.narg(previous_expires_at)::timestamptz,
    key_hash = sqlc.arg(key_hash), rotated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING id, name, scopes, created_at, expires_at, last_used_at, rotated_at, previous_expires_at, revoked_at;

-- name: RevokeInternalKey :one
UPDATE internal_keys SET revoked_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND revoked_at IS NULL
RETURNING id, name, scopes, created_at, expires_at, last_used_at, rotated_at, previous_expires_at, revoked_at;
