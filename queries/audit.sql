-- name: InsertAuditEvent :exec
INSERT INTO audit_events (occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: GetChainHeadForUpdate :one
-- The head row lock makes one sealer work at a time, whatever the number of instances; a second
-- sealer waits, then sees the rows the first one sealed.
SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE;

-- name: SetChainHead :exec
UPDATE audit_chain_head SET seq = $1, hash = $2 WHERE id = 1;

-- name: ListUnsealedAuditEvents :many
SELECT * FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT $1;

-- name: SealAuditEvent :exec
UPDATE audit_events SET seq = $2, prev_hash = $3, hash = $4, sealed_at = $5 WHERE id = $1 AND seq IS NULL;

-- name: ListSealedAuditEvents :many
SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2;

-- name: CountStaleUnsealed :one
SELECT count(*) FROM audit_events WHERE seq IS NULL AND occurred_at < $1;

-- name: ListUserSecurityEvents :many
-- A user's own security events, newest first, keyset-paginated by id.
SELECT id, occurred_at, action, ip, user_agent, details FROM audit_events
WHERE user_id = sqlc.arg(user_id) AND id < sqlc.arg(before_id)
  AND (action LIKE 'auth.%' OR action LIKE 'twofa.%' OR action LIKE 'profile.%' OR action LIKE 'account.%' OR action LIKE 'password.%')
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);
