-- +goose Up
-- The sealer no longer touches audit_events: it appends one row per sealed chunk to audit_seals,
-- with the chain hash of every row of the chunk (in chain order, (txid, id)). audit_events
-- becomes strictly insert-only (any UPDATE fails), and sealing costs one insert per chunk instead
-- of a new version of every row. The chain itself is unchanged in kind: each row's hash is
-- SHA-256(previous hash || its canonical content), one global chain, verified row by row.
--
-- Rows sealed before this migration are chained again, in blocks, from the start (the head is
-- reset): the migration is a trusted operation, and afterwards every row is covered by a block.
CREATE TABLE audit_seals (
    seq       bigint PRIMARY KEY CHECK (seq > 0),   -- chain position of the block's first row
    rows      int NOT NULL CHECK (rows > 0),
    last_txid bigint NOT NULL,                       -- the block's last row, by (txid, id)
    last_id   bigint NOT NULL,
    prev_hash bytea NOT NULL,                        -- the hash before the block's first row
    hashes    bytea[] NOT NULL CHECK (cardinality(hashes) = rows),
    sealed_at timestamptz NOT NULL
);
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse();

DROP TRIGGER audit_events_sealed_once ON audit_events;
DROP TRIGGER audit_events_content_frozen ON audit_events;
ALTER TABLE audit_events DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash, DROP COLUMN sealed_at;
ALTER TABLE audit_events RESET (fillfactor);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
UPDATE audit_chain_head
SET seq = 0, hash = '\x0000000000000000000000000000000000000000000000000000000000000000', last_txid = 0, last_id = 0;

-- +goose Down
-- Sealing goes back to per-row columns; every row is chained again from the start.
DROP TRIGGER audit_events_no_update ON audit_events;
ALTER TABLE audit_events ADD COLUMN seq bigint, ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea, ADD COLUMN sealed_at timestamptz;
ALTER TABLE audit_events SET (fillfactor = 40);
CREATE TRIGGER audit_events_content_frozen
    BEFORE UPDATE OF id, occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details, txid
    ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
CREATE TRIGGER audit_events_sealed_once
    BEFORE UPDATE OF seq, prev_hash, hash, sealed_at ON audit_events
    FOR EACH ROW WHEN (OLD.seq IS NOT NULL) EXECUTE FUNCTION audit_events_refuse();
DROP TABLE audit_seals;
UPDATE audit_chain_head
SET seq = 0, hash = '\x0000000000000000000000000000000000000000000000000000000000000000', last_txid = 0, last_id = 0;
