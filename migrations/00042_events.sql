-- +goose Up
-- Domain events for internal services (issue 17): one row per committed change, written in the
-- transaction of the change itself (the ledger writes its events in the posting statement), so a
-- rolled-back change has none and a committed one exactly one. Rows are never updated; the
-- retention worker deletes them (through the feed, oldest first) after EVENTS_RETENTION.
--
-- id is taken from the sequence when the row is inserted. A service inserts its event after the
-- locks of its change are held (the ledger in its last statement, after the accounts' row locks;
-- compliance after the user's FOR UPDATE), so of two events of one subject the later change has
-- the larger id. txid is the writing transaction: the sequencer (below) uses it to find the rows
-- that became visible since its last sweep.
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid         bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    type         text NOT NULL,
    version      int NOT NULL CHECK (version > 0),
    occurred_at  timestamptz NOT NULL,
    subject_type text NOT NULL,
    subject_id   text NOT NULL,
    user_id      bigint,
    data         jsonb NOT NULL
);
CREATE INDEX events_txid ON events (txid);
-- +goose StatementBegin
CREATE FUNCTION events_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable' USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_update();

-- The feed: every committed event gets its position (seq: 1, 2, 3, … without gaps) from the
-- sequencer, a background worker, once its transaction has committed. Each sweep positions the
-- events that became visible since the previous sweep — those of transactions that were still
-- running then (the previous snapshot's xip list) or had not started (txid ≥ its xmax) — in id
-- order. So positions follow commit order across sweeps, and the order of the changes of one
-- subject within a sweep; a position, once given, never changes, and no event ever gets one
-- smaller than a position already read: a cursor (the last seq read) never skips an event that
-- commits later. A long transaction elsewhere delays nothing (unlike an xmin bound): only its own
-- events wait for its commit.
CREATE TABLE event_feed (
    seq         bigint PRIMARY KEY CHECK (seq > 0),
    event_id    bigint NOT NULL UNIQUE,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL
);
-- Where the sequencer stands: the last position given and the snapshot of the sweep that gave it.
-- Positions up to pruned_through may have been deleted by the retention worker.
CREATE TABLE event_feed_head (
    id             int PRIMARY KEY CHECK (id = 1),
    seq            bigint NOT NULL,
    snap           pg_snapshot NOT NULL,
    pruned_through bigint NOT NULL
);
INSERT INTO event_feed_head (id, seq, snap, pruned_through) VALUES (1, 0, '1:1:', 0);

-- +goose Down
DROP TABLE event_feed_head;
DROP TABLE event_feed;
DROP TABLE events;
DROP FUNCTION events_refuse_update();
