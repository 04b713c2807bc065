-- name: InsertAuditEvent :exec
INSERT INTO audit_events (occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: GetChainHeadForUpdate :one
-- The head row lock makes one sealer work at a time, whatever the number of instances; a second
-- sealer waits, then sees the rows the first one sealed.
SELECT seq, hash, last_txid, last_id FROM audit_chain_head WHERE id = 1 FOR UPDATE;

-- name: SetChainHead :exec
UPDATE audit_chain_head SET seq = $1, hash = $2, last_txid = $3, last_id = $4 WHERE id = 1;

-- name: GetSealBound :one
-- The oldest transaction still running: every row written by an older transaction is final
-- (committed and visible, or rolled back and gone for good).
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS bound;

-- name: ListUnsealedAuditEvents :many
-- The next final rows after the sealer's position, in chain order (txid, id).
SELECT * FROM audit_events
WHERE (txid, id) > (sqlc.arg(last_txid)::bigint, sqlc.arg(last_id)::bigint) AND txid < sqlc.arg(bound)::bigint AND seq IS NULL
ORDER BY txid, id
LIMIT sqlc.arg(max_rows);

-- name: SealAuditEvents :execrows
-- Seals a whole chunk in one statement (the chain is computed by the caller, under the head lock).
-- Rows are found by their key (txid, id).
UPDATE audit_events e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, sealed_at = sqlc.arg(now)::timestamptz
FROM (SELECT unnest(sqlc.arg(txids)::bigint[]) AS txid, unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(seqs)::bigint[]) AS seq,
             unnest(sqlc.arg(prev_hashes)::bytea[]) AS prev_hash, unnest(sqlc.arg(hashes)::bytea[]) AS hash) v
WHERE e.txid = v.txid AND e.id = v.id AND e.seq IS NULL;

-- name: ListSealedAuditEvents :many
-- The chain in order: (txid, id) is the order the sealer follows (migration 00036).
SELECT * FROM audit_events
WHERE (txid, id) > (sqlc.arg(after_txid)::bigint, sqlc.arg(after_id)::bigint) AND seq IS NOT NULL
ORDER BY txid, id
LIMIT sqlc.arg(max_rows);

-- name: CountStaleUnsealed :one
-- Offline (audit verify): a full scan is fine there.
SELECT count(*) FROM audit_events WHERE seq IS NULL AND occurred_at < $1;

-- name: ListUserSecurityEvents :many
-- A user's own security events, newest first, keyset-paginated by id. The action predicate is
-- also the predicate of the index audit_events_user_security (migration 00034): keep them equal.
SELECT id, occurred_at, action, ip, user_agent, details FROM audit_events
WHERE user_id = sqlc.arg(user_id) AND id < sqlc.arg(before_id)
  AND (action LIKE 'auth.%' OR action LIKE 'twofa.%' OR action LIKE 'profile.%' OR action LIKE 'account.%' OR action LIKE 'password.%')
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);
