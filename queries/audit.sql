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
WHERE (txid, id) > (sqlc.arg(last_txid)::bigint, sqlc.arg(last_id)::bigint) AND txid < sqlc.arg(bound)::bigint
ORDER BY txid, id
LIMIT sqlc.arg(max_rows);

-- name: InsertAuditSeal :exec
INSERT INTO audit_seals (seq, rows, last_txid, last_id, prev_hash, hashes, sealed_at)
VALUES (sqlc.arg(seq), sqlc.arg(rows), sqlc.arg(last_txid), sqlc.arg(last_id), sqlc.arg(prev_hash), sqlc.arg(hashes)::bytea[], sqlc.arg(sealed_at));

-- name: ListAuditSeals :many
SELECT * FROM audit_seals WHERE seq > $1 ORDER BY seq LIMIT $2;

-- name: ListAuditEventsInRange :many
-- The rows a block covers: after the previous block's last row, up to and including its own.
SELECT * FROM audit_events
WHERE (txid, id) > (sqlc.arg(after_txid)::bigint, sqlc.arg(after_id)::bigint)
  AND (txid, id) <= (sqlc.arg(last_txid)::bigint, sqlc.arg(last_id)::bigint)
ORDER BY txid, id;

-- name: CountStaleUnsealed :one
-- Rows beyond the sealer's position written before $1.
SELECT count(*) FROM audit_events e JOIN audit_chain_head h ON h.id = 1
WHERE (e.txid, e.id) > (h.last_txid, h.last_id) AND e.occurred_at < $1;

-- name: ListUserSecurityEvents :many
-- A user's own security events, newest first, keyset-paginated by id. The action predicate is
-- also the predicate of the index audit_events_user_security (migration 00034): keep them equal.
SELECT id, occurred_at, action, ip, user_agent, details FROM audit_events
WHERE user_id = sqlc.arg(user_id) AND id < sqlc.arg(before_id)
  AND (action LIKE 'auth.%' OR action LIKE 'twofa.%' OR action LIKE 'profile.%' OR action LIKE 'account.%' OR action LIKE 'password.%')
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);
