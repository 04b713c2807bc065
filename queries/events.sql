-- name: InsertEvent :exec
-- One domain event, in the transaction of the change it records (services/events.Record).
INSERT INTO events (type, version, occurred_at, subject_type, subject_id, user_id, data)
VALUES (sqlc.arg(type), sqlc.arg(version), sqlc.arg(occurred_at), sqlc.arg(subject_type), sqlc.arg(subject_id),
        sqlc.narg(user_id), sqlc.arg(data)::text::jsonb);

-- name: TryLockEventSequencer :one
-- One sequencer at a time, whatever the number of instances; the others skip their sweep. An
-- advisory lock (two-int key space, apart from the ledger's hashed bigint keys) writes nothing.
SELECT pg_try_advisory_xact_lock(17, 1) AS acquired;

-- name: GetEventSequencerHead :one
-- Where the sequencer stands (read under TryLockEventSequencer): the last position given, and
-- the previous sweep's snapshot as its xmax and its list of running transactions.
SELECT h.seq, pg_snapshot_xmax(h.snap)::text::bigint AS xmax,
       ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(h.snap) x)::bigint[] AS xip
FROM event_feed_head h WHERE h.id = 1;

-- name: SequenceEvents :one
-- One sweep, in a statement of its own after the lock (so that its snapshot is taken after the
-- previous sweep committed): the events visible now that were not visible at the previous sweep
-- — their transaction was running then (xip) or had not started (txid ≥ xmax) — get the next
-- positions, in id order, and the head moves to this statement's snapshot. A sweep that
-- positions nothing writes nothing.
WITH fresh AS (
    SELECT e.id, e.type, e.occurred_at FROM events e
    WHERE e.txid >= sqlc.arg(xmax)::bigint OR e.txid = ANY (sqlc.arg(xip)::bigint[])
), placed AS (
    INSERT INTO event_feed (seq, event_id, type, occurred_at)
    SELECT sqlc.arg(seq)::bigint + row_number() OVER (ORDER BY f.id), f.id, f.type, f.occurred_at FROM fresh f
    RETURNING seq
), moved AS (
    UPDATE event_feed_head h SET seq = (SELECT max(seq) FROM placed), snap = pg_current_snapshot()
    WHERE h.id = 1 AND EXISTS (SELECT 1 FROM placed)
    RETURNING h.seq
)
SELECT (SELECT count(*) FROM placed)::bigint AS positioned;

-- name: GetEventFeedHead :one
SELECT seq, pruned_through FROM event_feed_head WHERE id = 1;

-- name: ListEventFeed :many
-- A page of the feed after a position, in feed order; types empty: every type.
SELECT f.seq, e.id, e.type, e.version, e.occurred_at, e.subject_type, e.subject_id, e.user_id, e.data
FROM event_feed f JOIN events e ON e.id = f.event_id
WHERE f.seq > sqlc.arg(after)::bigint
  AND (COALESCE(cardinality(sqlc.arg(types)::text[]), 0) = 0 OR f.type = ANY (sqlc.arg(types)::text[]))
ORDER BY f.seq
LIMIT sqlc.arg(max_rows);

-- name: PruneEvents :one
-- Deletes, oldest position first, up to max_rows events that occurred before cutoff, with their
-- feed rows, and records the highest position deleted. Stops at the first position not old
-- enough, so the retained feed stays one unbroken range.
WITH first_rows AS (
    SELECT f.seq, f.event_id, f.occurred_at >= sqlc.arg(cutoff)::timestamptz AS young
    FROM event_feed f ORDER BY f.seq LIMIT sqlc.arg(max_rows)
), old AS (
    SELECT w.seq, w.event_id FROM (
        SELECT r.seq, r.event_id, bool_or(r.young) OVER (ORDER BY r.seq) AS reached_young FROM first_rows r) w
    WHERE NOT w.reached_young
), gone_feed AS (
    DELETE FROM event_feed f USING old WHERE f.seq = old.seq RETURNING f.seq
), gone_events AS (
    DELETE FROM events e USING old WHERE e.id = old.event_id RETURNING e.id
), marked AS (
    UPDATE event_feed_head h SET pruned_through = GREATEST(h.pruned_through, (SELECT max(seq) FROM gone_feed))
    WHERE h.id = 1 AND EXISTS (SELECT 1 FROM gone_feed)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone_events)::bigint AS events, (SELECT count(*) FROM marked)::bigint AS marked;

-- name: GetOldestUnsequencedEvent :one
-- When the oldest committed event the sequencer has not positioned yet occurred (the feed-lag
-- gauge), or now when every committed event has its position: the events visible to this
-- statement that the last sweep's snapshot did not see (SequenceEvents' own condition, so the
-- events_txid index finds them). Read without the sequencer's lock: a sweep committing meanwhile
-- is seen at the next read.
WITH h AS (
    SELECT pg_snapshot_xmax(snap)::text::bigint AS xmax,
           ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(snap) x)::bigint[] AS xip
    FROM event_feed_head WHERE id = 1
)
SELECT COALESCE(min(e.occurred_at), sqlc.arg(now)::timestamptz)::timestamptz AS oldest
FROM events e
WHERE e.txid >= (SELECT xmax FROM h) OR e.txid = ANY ((SELECT xip FROM h)::bigint[]);
