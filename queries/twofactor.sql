-- name: GetTwofaUser :one
SELECT id, email, locale, status, twofa_enabled, twofa_secret_enc, twofa_last_step
FROM users WHERE id = $1;

-- name: EnableTwofa :one
-- Commits enrollment and claims the verifying code's time step in one statement: no row when
-- 2FA is already on or the step was already used.
UPDATE users
SET twofa_enabled = true, twofa_secret_enc = sqlc.arg(secret_enc), twofa_enabled_at = sqlc.arg(now)::timestamptz,
    twofa_last_step = sqlc.arg(step)::bigint, updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND NOT twofa_enabled
  AND (twofa_last_step IS NULL OR twofa_last_step < sqlc.arg(step)::bigint)
RETURNING id;

-- name: ClaimTotpStep :one
-- Accepts a time step at most once per user, and only for the secret that was checked.
UPDATE users SET twofa_last_step = sqlc.arg(step)::bigint
WHERE id = sqlc.arg(id) AND twofa_enabled AND twofa_secret_enc = sqlc.arg(secret_enc)
  AND (twofa_last_step IS NULL OR twofa_last_step < sqlc.arg(step)::bigint)
RETURNING id;

-- name: DisableTwofa :one
UPDATE users
SET twofa_enabled = false, twofa_secret_enc = NULL, twofa_enabled_at = NULL, updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND twofa_enabled
RETURNING id;

-- name: DeleteRecoveryCodes :exec
DELETE FROM twofa_recovery_codes WHERE user_id = $1;

-- name: InsertRecoveryCode :exec
INSERT INTO twofa_recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3);

-- name: FindRecoveryCode :one
SELECT id FROM twofa_recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL;

-- name: UseRecoveryCode :one
-- Spends a code once: of two concurrent uses exactly one gets the row.
UPDATE twofa_recovery_codes SET used_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND used_at IS NULL
RETURNING id;

-- name: CountRecoveryCodes :one
SELECT count(*) FROM twofa_recovery_codes WHERE user_id = $1 AND used_at IS NULL;
