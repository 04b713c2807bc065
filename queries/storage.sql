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

-- name: LeaseObjectDeletion :one
-- A storage.delete job takes its due row, reserved until lease_until: a guard leased this way
-- can no longer be claimed, and if the process dies the row is due again after the lease.
UPDATE storage_deletions SET attempts = attempts + 1, not_before = sqlc.arg(lease_until)
WHERE key = sqlc.arg(key) AND not_before <= sqlc.arg(now)
RETURNING attempts;

-- name: ObjectDeletionDue :one
SELECT not_before FROM storage_deletions WHERE key = $1;

-- name: ObjectDeleted :exec
DELETE FROM storage_deletions WHERE key = $1;

-- name: ObjectDeletionFailed :exec
UPDATE storage_deletions SET not_before = sqlc.arg(retry_at), last_error = sqlc.arg(last_error) WHERE key = sqlc.arg(key);
