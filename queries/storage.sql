-- name: GuardObject :exec
-- Before an object is written: delete it at not_before unless a transaction claims it first.
INSERT INTO storage_deletions (key, not_before, created_at) VALUES (sqlc.arg(key), sqlc.arg(not_before), sqlc.arg(now));

-- name: ClaimGuardedObject :execrows
-- In the transaction that starts referring to the key. Only a guard no worker has leased and
-- that is not yet due can be claimed (a worker may be deleting the object of any other).
DELETE FROM storage_deletions WHERE key = sqlc.arg(key) AND attempts = 0 AND not_before > sqlc.arg(now);

-- name: ScheduleObjectDeletion :exec
-- In the transaction that stops referring to the key: due at once.
INSERT INTO storage_deletions (key, not_before, created_at) VALUES (sqlc.arg(key), sqlc.arg(now), sqlc.arg(now))
ON CONFLICT (key) DO UPDATE SET not_before = LEAST(storage_deletions.not_before, EXCLUDED.not_before);

-- name: LeaseObjectDeletions :many
-- Due rows for one worker (SKIP LOCKED: several instances share them), each reserved until
-- lease_until so another worker takes it again only if this one died.
UPDATE storage_deletions d SET attempts = d.attempts + 1, not_before = sqlc.arg(lease_until)
FROM (SELECT s.key FROM storage_deletions s WHERE s.not_before <= sqlc.arg(now)
      ORDER BY s.not_before LIMIT sqlc.arg(max_rows) FOR UPDATE SKIP LOCKED) due
WHERE d.key = due.key
RETURNING d.key, d.attempts;

-- name: ObjectDeleted :exec
DELETE FROM storage_deletions WHERE key = $1;

-- name: ObjectDeletionFailed :exec
UPDATE storage_deletions SET not_before = sqlc.arg(retry_at), last_error = sqlc.arg(last_error) WHERE key = sqlc.arg(key);
