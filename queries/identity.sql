-- Queries of services/identity: devices, logout, password-hash upgrade.

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
