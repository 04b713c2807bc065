-- name: GetOTP :one
-- The live code of a user for a purpose (none once expired or exhausted).
SELECT * FROM email_otps
WHERE user_id = sqlc.arg(user_id) AND purpose = sqlc.arg(purpose)
  AND expires_at > sqlc.arg(now)::timestamptz AND attempts < sqlc.arg(max_attempts)::int;

-- name: LockOTPByEmail :one
-- Locks the live code of the user with this email (and reads the user) for validation.
SELECT o.user_id, o.code_mac, o.attempts, o.created_at, o.expires_at,
       u.email, u.status, u.locale
FROM email_otps o JOIN users u ON u.id = o.user_id
WHERE u.email = sqlc.arg(email) AND o.purpose = sqlc.arg(purpose)
  AND o.expires_at > sqlc.arg(now)::timestamptz AND o.attempts < sqlc.arg(max_attempts)::int
FOR UPDATE OF o;

-- name: UpsertOTP :exec
-- Writes a new code, replacing any previous one (its attempts start again at zero).
INSERT INTO email_otps (user_id, purpose, code_mac, attempts, created_at, expires_at)
VALUES (sqlc.arg(user_id), sqlc.arg(purpose), sqlc.arg(code_mac), 0, sqlc.arg(created_at), sqlc.arg(expires_at))
ON CONFLICT (user_id, purpose) DO UPDATE
SET code_mac = EXCLUDED.code_mac, attempts = 0, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at;

-- name: IncrementOTPAttempts :one
UPDATE email_otps SET attempts = attempts + 1
WHERE user_id = sqlc.arg(user_id) AND purpose = sqlc.arg(purpose)
RETURNING attempts;

-- name: DeleteOTP :exec
DELETE FROM email_otps WHERE user_id = sqlc.arg(user_id) AND purpose = sqlc.arg(purpose);

-- name: DeleteUnusedMagicLinks :exec
DELETE FROM magic_links WHERE user_id = $1 AND used_at IS NULL;

-- name: LastMagicLinkAt :one
SELECT COALESCE(max(created_at), 'epoch'::timestamptz)::timestamptz FROM magic_links WHERE user_id = $1;

-- name: InsertMagicLink :exec
INSERT INTO magic_links (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4);

-- name: LockMagicLink :one
-- Locks a link by its hash (and reads its user) for validation; the caller checks the rest.
SELECT l.id, l.user_id, l.expires_at, l.used_at, u.email, u.status, u.locale
FROM magic_links l JOIN users u ON u.id = l.user_id
WHERE l.token_hash = $1
FOR UPDATE OF l;

-- name: MarkMagicLinkUsed :exec
UPDATE magic_links SET used_at = $2 WHERE id = $1;

-- name: LiveOTPsUnderOldMAC :one
-- Live codes whose MAC is not made with the newest HMAC key (header), and when the last of
-- them expires (now when there is none): their key may leave the ring after that (`flowxi keys
-- status`).
SELECT count(*) AS codes, coalesce(max(expires_at), sqlc.arg(now)::timestamptz)::timestamptz AS until FROM email_otps
WHERE expires_at > sqlc.arg(now)::timestamptz AND substring(code_mac from 1 for 5) <> sqlc.arg(header)::bytea;
