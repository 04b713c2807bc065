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
-- code_hashes: the code's MAC under every key of the HMAC ring (secrets.Keys.MACs).
SELECT id FROM twofa_recovery_codes
WHERE user_id = sqlc.arg(user_id) AND code_hash = ANY (sqlc.arg(code_hashes)::bytea[]) AND used_at IS NULL
LIMIT 1;

-- name: UseRecoveryCode :one
-- Spends a code once: of two concurrent uses exactly one gets the row.
UPDATE twofa_recovery_codes SET used_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND used_at IS NULL
RETURNING id;

-- name: CountRecoveryCodes :one
SELECT count(*) FROM twofa_recovery_codes WHERE user_id = $1 AND used_at IS NULL;

-- name: ListTwofaSecretsToReseal :many
-- One batch of `flowxi keys reencrypt`, keyset by id: the 2FA secrets not yet sealed under the
-- newest key (header: the version header of secrets.Keys.SealHeader).
SELECT id, twofa_secret_enc::bytea AS secret_enc FROM users
WHERE id > sqlc.arg(after)::bigint AND twofa_secret_enc IS NOT NULL
  AND substring(twofa_secret_enc from 1 for 5) <> sqlc.arg(header)::bytea
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: ResealTwofaSecrets :execrows
-- Compare-and-set per row: a secret changed since the batch read it (2FA disabled, enabled
-- again) keeps its new value.
UPDATE users u SET twofa_secret_enc = v.sealed
FROM (SELECT unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(olds)::bytea[]) AS old,
             unnest(sqlc.arg(news)::bytea[]) AS sealed) AS v
WHERE u.id = v.id AND u.twofa_secret_enc = v.old;

-- name: CountTwofaSecretsToReseal :one
SELECT count(*) FROM users
WHERE twofa_secret_enc IS NOT NULL AND substring(twofa_secret_enc from 1 for 5) <> sqlc.arg(header)::bytea;

-- name: CountRecoveryCodesUnderOldMAC :one
-- Unused recovery codes whose hash is not made with the newest HMAC key (header): they stop
-- working when their key leaves the ring (`flowxi keys status`).
SELECT count(*) FROM twofa_recovery_codes
WHERE used_at IS NULL AND substring(code_hash from 1 for 5) <> sqlc.arg(header)::bytea;
