-- +goose Up
-- The sealer finds new rows by the id of the transaction that wrote them instead of by a
-- "seq IS NULL" index, and walks them in (txid, id) order. Every row whose transaction id is
-- below the oldest transaction still running (pg_snapshot_xmin) is final: its transaction
-- committed (the row is visible) or aborted (it never will be), so the sealer can advance past
-- it without ever skipping a row that commits late. Nothing indexed changes when a row is
-- sealed, and the pages keep room for it: sealing is a heap-only (HOT) update, with no new index
-- entries and no index bloat (make bench BENCH=LedgerAudit reports the share: all of them).
-- The price is space: every row is sealed exactly once and its sealed version is larger (seq and
-- two hashes), so a page must keep ~60 % free for all of its rows' seals to fit (fillfactor 40;
-- at 70 most seals still spilled to other pages).
ALTER TABLE audit_events ADD COLUMN txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX audit_events_chain_order ON audit_events (txid, id);
DROP INDEX audit_events_unsealed;
DROP INDEX audit_events_seq;
ALTER TABLE audit_events SET (fillfactor = 40);
-- Where the sealer stands: the (txid, id) of the last row it looked at. Rows written before this
-- migration all carry this migration's txid, so the walk starts just before them.
ALTER TABLE audit_chain_head ADD COLUMN last_txid bigint NOT NULL DEFAULT 0,
                             ADD COLUMN last_id bigint NOT NULL DEFAULT 0;
-- The content trigger also freezes the new column.
DROP TRIGGER audit_events_content_frozen ON audit_events;
CREATE TRIGGER audit_events_content_frozen
    BEFORE UPDATE OF id, occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details, txid
    ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();

-- +goose Down
DROP TRIGGER audit_events_content_frozen ON audit_events;
CREATE TRIGGER audit_events_content_frozen
    BEFORE UPDATE OF id, occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details
    ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
ALTER TABLE audit_chain_head DROP COLUMN last_id, DROP COLUMN last_txid;
ALTER TABLE audit_events RESET (fillfactor);
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq) WHERE seq IS NOT NULL;
CREATE INDEX audit_events_unsealed ON audit_events (id) WHERE seq IS NULL;
DROP INDEX audit_events_chain_order;
ALTER TABLE audit_events DROP COLUMN txid;
