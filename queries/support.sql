-- Queries of services/support (the internal support API): lookups, sessions, 2FA resets.

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username = $1;

-- name: ListUserLastLogins :many
-- The user's most recent successful logins, newest first (the audit rows sessions.Complete writes).
SELECT occurred_at, ip, user_agent, COALESCE(details->>'device_id', '')::text AS device_id, COALESCE(details->>'method', '')::text AS method
FROM audit_events
WHERE user_id = sqlc.arg(user_id) AND action = 'auth.login.succeeded'
ORDER BY id DESC
LIMIT sqlc.arg(max)::int;

-- name: ListUserLiveSessions :many
-- The user's live tokens (not revoked, not past their absolute or idle expiry), newest use first.
SELECT id, device_id, device_type, device_name, country, ip, user_agent, created_at, last_used_at, expires_at
FROM access_tokens
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND expires_at > sqlc.arg(now)::timestamptz
  AND COALESCE(last_used_at, created_at) >= sqlc.arg(idle_cutoff)::timestamptz
ORDER BY COALESCE(last_used_at, created_at) DESC, id DESC;

-- name: RevokeUserSession :execrows
UPDATE access_tokens SET revoked_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND revoked_at IS NULL;

-- name: ExpireTwofaResets :exec
-- Marks the user's pending requests past their window expired.
UPDATE support_twofa_resets SET status = 'expired'
WHERE user_id = sqlc.arg(user_id) AND status = 'pending' AND expires_at <= sqlc.arg(now)::timestamptz;

-- name: InsertTwofaReset :one
-- No row when a request of the user is already pending.
INSERT INTO support_twofa_resets (user_id, requested_by_key, requested_by, request_reason, requested_at, expires_at)
VALUES (sqlc.arg(user_id), sqlc.arg(requested_by_key), sqlc.arg(requested_by), sqlc.arg(request_reason), sqlc.arg(now)::timestamptz, sqlc.arg(expires_at)::timestamptz)
ON CONFLICT (user_id) WHERE status = 'pending' DO NOTHING
RETURNING *;

-- name: GetTwofaResetForUpdate :one
SELECT * FROM support_twofa_resets WHERE id = $1 FOR UPDATE;

-- name: SetTwofaResetStatus :one
UPDATE support_twofa_resets
SET status = sqlc.arg(status), approved_by_key = sqlc.narg(approved_by_key), approved_by = sqlc.narg(approved_by),
    approval_reason = sqlc.narg(approval_reason), approved_at = sqlc.narg(approved_at)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING *;
