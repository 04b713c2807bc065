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

-- name: SealAuditEvents :execrows
-- Seals a whole chunk in one statement (the chain is computed by the caller, under the head lock).
UPDATE audit_events e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, sealed_at = sqlc.arg(now)::timestamptz
FROM (SELECT unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(seqs)::bigint[]) AS seq,
             unnest(sqlc.arg(prev_hashes)::bytea[]) AS prev_hash, unnest(sqlc.arg(hashes)::bytea[]) AS hash) v
WHERE e.id = v.id AND e.seq IS NULL;

-- name: ListSealedAuditEvents :many
SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2;

-- name: CountStaleUnsealed :one
SELECT count(*) FROM audit_events WHERE seq IS NULL AND occurred_at < $1;

-- name: ListUserSecurityEvents :many
-- A user's own security events, newest first, keyset-paginated by id. The action predicate is
-- also the predicate of the index audit_events_user_security (migration 00034): keep them equal.
SELECT id, occurred_at, action, ip, user_agent, details FROM audit_events
WHERE user_id = sqlc.arg(user_id) AND id < sqlc.arg(before_id)
  AND (action LIKE 'auth.%' OR action LIKE 'twofa.%' OR action LIKE 'profile.%' OR action LIKE 'account.%' OR action LIKE 'password.%')
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);
