-- +goose Up
-- Storage objects to delete, durably. An upload first records its new key here, due after a
-- grace period (the guard), then writes the object; the transaction that starts referring to the
-- key removes the guard, and the one that stops referring to an old key queues it, due at once.
-- So an object that nothing refers to — an upload whose transaction failed or whose process
-- died, a replaced photo whose delete failed — is deleted by the worker, never forgotten.
CREATE TABLE storage_deletions (
    key        text PRIMARY KEY,
    not_before timestamptz NOT NULL,       -- due time; a worker leasing the row pushes it forward
    attempts   int NOT NULL DEFAULT 0,     -- leases taken; a guard still claimable has none
    last_error text,
    created_at timestamptz NOT NULL
);
CREATE INDEX storage_deletions_due ON storage_deletions (not_before);

-- +goose Down
DROP TABLE storage_deletions;
