-- name: NextWebhookSubscriptionID :one
SELECT nextval(pg_get_serial_sequence('webhook_subscriptions', 'id'))::bigint AS id;

-- name: InsertWebhookSubscription :one
INSERT INTO webhook_subscriptions (id, url, description, event_types, secret_sealed, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING *;

-- name: GetWebhookSubscription :one
SELECT * FROM webhook_subscriptions WHERE id = $1;

-- name: LockWebhookSubscription :one
SELECT * FROM webhook_subscriptions WHERE id = $1 FOR UPDATE;

-- name: ListWebhookSubscriptions :many
SELECT * FROM webhook_subscriptions WHERE id > sqlc.arg(after) ORDER BY id LIMIT sqlc.arg(max_rows);

-- name: UpdateWebhookSubscription :one
UPDATE webhook_subscriptions
SET url = sqlc.arg(url), description = sqlc.narg(description), event_types = sqlc.arg(event_types), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: SetWebhookSubscriptionStatus :one
UPDATE webhook_subscriptions
SET status = sqlc.arg(status), failing_since = sqlc.narg(failing_since), disabled_at = sqlc.narg(disabled_at), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: RotateWebhookSecret :one
UPDATE webhook_subscriptions
SET secret_sealed = sqlc.arg(secret_sealed), previous_secret_sealed = sqlc.narg(previous_secret_sealed),
    previous_secret_expires_at = sqlc.narg(previous_secret_expires_at), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: DeleteWebhookSubscription :execrows
DELETE FROM webhook_subscriptions WHERE id = $1;

-- name: LockWebhookFanout :one
-- The fan-out's cursor, locked for one sweep; another instance sweeping now makes it skip.
SELECT seq FROM webhook_fanout WHERE id = 1 FOR UPDATE SKIP LOCKED;

-- name: WebhookFanoutPage :one
-- The last feed position of the next page after the cursor (0 rows: 0).
SELECT coalesce(max(seq), 0)::bigint AS upto FROM (
    SELECT f.seq FROM event_feed f WHERE f.seq > sqlc.arg(after)::bigint ORDER BY f.seq LIMIT sqlc.arg(max_rows)
) p;

-- name: FanOutWebhookDeliveries :many
-- One delivery per (subscription, event) of the feed positions (after, upto], for each
-- subscription whose types the event matches and that existed when it occurred; in feed order,
-- so a chain's ids follow its events. Held when the subscription is not active.
INSERT INTO webhook_deliveries (subscription_id, event_id, chain, status, created_at)
SELECT s.id, e.id, e.subject_type || ':' || e.subject_id,
       CASE WHEN s.status = 'active' THEN 'pending' ELSE 'held' END, sqlc.arg(now)::timestamptz
FROM event_feed f
-- One primary-key probe per feed row, whatever the statistics say (see GetWebhookDeliveriesForSend).
CROSS JOIN LATERAL (SELECT * FROM events x WHERE x.id = f.event_id LIMIT 1) e
JOIN webhook_subscriptions s ON (e.type = ANY (s.event_types) OR '*' = ANY (s.event_types)) AND e.occurred_at >= s.created_at
WHERE f.seq > sqlc.arg(after)::bigint AND f.seq <= sqlc.arg(upto)::bigint
ORDER BY f.seq, s.id
ON CONFLICT (subscription_id, event_id) WHERE NOT redelivery DO NOTHING
RETURNING id, status, subscription_id, chain;

-- name: SetWebhookFanout :exec
UPDATE webhook_fanout SET seq = sqlc.arg(seq) WHERE id = 1;

-- name: GetWebhookDeliveriesForSend :many
-- What attempts need, for the deliveries ids: each delivery, its subscription (URL, status,
-- secrets) and its event, in id order; ahead says an older delivery of its chain outside ids is
-- unfinished (those among ids are the caller's to order).
SELECT d.id, d.subscription_id, d.event_id, d.chain, d.status, d.attempts, d.first_attempt_at,
       s.url, s.status AS subscription_status, s.secret_sealed, s.previous_secret_sealed, s.previous_secret_expires_at,
       e.type, e.version, e.occurred_at, e.subject_type, e.subject_id, e.user_id, e.data,
       EXISTS (SELECT 1 FROM webhook_deliveries o
               WHERE o.subscription_id = d.subscription_id AND o.chain = d.chain AND o.id < d.id
                 AND o.status IN ('pending', 'waiting', 'held') AND o.id <> ALL (sqlc.arg(ids)::bigint[])) AS ahead
FROM webhook_deliveries d
-- Primary-key probes whatever the statistics say (LATERAL ... LIMIT 1): planned as plain joins on
-- a fresh table's statistics, the events were a hash join over a sequential scan of every event.
CROSS JOIN LATERAL (SELECT * FROM webhook_subscriptions x WHERE x.id = d.subscription_id LIMIT 1) s
CROSS JOIN LATERAL (SELECT * FROM events x WHERE x.id = d.event_id LIMIT 1) e
WHERE d.id = ANY (sqlc.arg(ids)::bigint[])
ORDER BY d.id;

-- name: LockWebhookChain :exec
-- Serializes, per chain, the check "am I the oldest unfinished delivery" and the wake-up of the
-- next one, so no delivery is left waiting with nobody to wake it.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(subscription_id)::bigint::text || '/' || sqlc.arg(chain)::text, 17));

-- name: NextInWebhookChain :one
-- The oldest unfinished delivery of the chain after id.
SELECT id, status FROM webhook_deliveries
WHERE subscription_id = sqlc.arg(subscription_id) AND chain = sqlc.arg(chain) AND id > sqlc.arg(id)
  AND status IN ('pending', 'waiting', 'held')
ORDER BY id LIMIT 1;

-- name: SetWebhookDeliveryStatus :exec
UPDATE webhook_deliveries SET status = sqlc.arg(status) WHERE id = sqlc.arg(id);

-- name: InsertWebhookAttempt :exec
INSERT INTO webhook_attempts (delivery_id, subscription_id, attempt, attempted_at, outcome, http_status, latency_ms, response_excerpt)
VALUES (sqlc.arg(delivery_id), sqlc.arg(subscription_id), sqlc.arg(attempt), sqlc.arg(attempted_at), sqlc.arg(outcome),
        sqlc.narg(http_status), sqlc.arg(latency_ms), sqlc.narg(response_excerpt));

-- name: FinishWebhookAttempt :exec
UPDATE webhook_deliveries
SET attempts = attempts + 1, status = sqlc.arg(status), first_attempt_at = coalesce(first_attempt_at, sqlc.arg(attempted_at)),
    next_attempt_at = sqlc.narg(next_attempt_at), finished_at = sqlc.narg(finished_at)
WHERE id = sqlc.arg(id);

-- name: WebhookFailed :one
-- A failed attempt: the failure streak starts now unless it runs already.
UPDATE webhook_subscriptions SET failing_since = coalesce(failing_since, sqlc.arg(now)::timestamptz)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: RequeueHeldWebhookDeliveries :many
-- Resume: the held deliveries become pending again (their jobs are inserted with it), and so do
-- the waiting ones — whose turn a held delivery may never give back (its event pruned by
-- retention while the subscription was paused): each job finds out again whether it is its turn.
UPDATE webhook_deliveries SET status = 'pending'
WHERE subscription_id = $1 AND status IN ('held', 'waiting')
RETURNING id;

-- name: CountWebhookRedeliveries :one
-- Events of the subscription's types retained in the feed that occurred in [from, to).
SELECT count(*) FROM event_feed f
WHERE f.occurred_at >= sqlc.arg(from_time) AND f.occurred_at < sqlc.arg(to_time)
  AND (f.type = ANY (sqlc.arg(types)::text[]) OR '*' = ANY (sqlc.arg(types)::text[]));

-- name: RedeliverWebhookEvents :many
-- New deliveries (redelivery) of the retained events of the subscription's types: one event
-- (event_id), or those that occurred in [from, to); in feed order.
INSERT INTO webhook_deliveries (subscription_id, event_id, chain, status, redelivery, created_at)
SELECT sqlc.arg(subscription_id)::bigint, e.id, e.subject_type || ':' || e.subject_id,
       CASE WHEN sqlc.arg(active)::boolean THEN 'pending' ELSE 'held' END, true, sqlc.arg(now)::timestamptz
FROM event_feed f JOIN events e ON e.id = f.event_id
WHERE (f.type = ANY (sqlc.arg(types)::text[]) OR '*' = ANY (sqlc.arg(types)::text[]))
  AND CASE WHEN sqlc.arg(event_id)::bigint > 0 THEN f.event_id = sqlc.arg(event_id)::bigint
           ELSE f.occurred_at >= sqlc.arg(from_time)::timestamptz AND f.occurred_at < sqlc.arg(to_time)::timestamptz END
ORDER BY f.seq
RETURNING id, status, subscription_id, chain;

-- name: ListWebhookAttempts :many
-- A subscription's delivery log, newest first, after the cursor; event_id 0: every event.
SELECT a.id, a.delivery_id, a.attempt, a.attempted_at, a.outcome, a.http_status, a.latency_ms, a.response_excerpt,
       d.event_id, d.redelivery, d.status AS delivery_status, d.next_attempt_at, e.type AS event_type
FROM webhook_attempts a
JOIN webhook_deliveries d ON d.id = a.delivery_id
JOIN events e ON e.id = d.event_id
WHERE a.subscription_id = sqlc.arg(subscription_id) AND a.id < sqlc.arg(before)
  AND (sqlc.arg(event_id)::bigint = 0 OR d.event_id = sqlc.arg(event_id)::bigint)
ORDER BY a.id DESC
LIMIT sqlc.arg(max_rows);

-- name: WebhookDelivered :one
-- A successful attempt, in one statement: its log row, the delivery finished, the subscription's
-- failure streak ended, and the next unfinished delivery of the chain (0 when none) to wake.
WITH a AS (
    INSERT INTO webhook_attempts (delivery_id, subscription_id, attempt, attempted_at, outcome, http_status, latency_ms, response_excerpt)
    VALUES (sqlc.arg(id), sqlc.arg(subscription_id), sqlc.arg(attempt), sqlc.arg(attempted_at), 'delivered',
            sqlc.narg(http_status), sqlc.arg(latency_ms), sqlc.narg(response_excerpt))
), d AS (
    UPDATE webhook_deliveries SET attempts = attempts + 1, status = 'delivered',
        first_attempt_at = coalesce(first_attempt_at, sqlc.arg(attempted_at)), next_attempt_at = NULL, finished_at = sqlc.arg(now)
    WHERE id = sqlc.arg(id)
), s AS (
    UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = sqlc.arg(subscription_id) AND failing_since IS NOT NULL
)
SELECT coalesce(n.id, 0)::bigint AS next_id, coalesce(n.status, '')::text AS next_status
FROM (SELECT 1) one
LEFT JOIN LATERAL (
    SELECT o.id, o.status FROM webhook_deliveries o
    WHERE o.subscription_id = sqlc.arg(subscription_id) AND o.chain = sqlc.arg(chain) AND o.id > sqlc.arg(id)
      AND o.status IN ('pending', 'waiting', 'held')
    ORDER BY o.id LIMIT 1
) n ON true;

-- name: StuckWebhookWaits :many
-- Waiting deliveries with nothing unfinished ahead in their chain: the delivery ahead finished
-- but its process died before it woke them (the fan-out's sweep wakes them).
SELECT d.id, d.subscription_id, d.chain FROM webhook_deliveries d
WHERE d.status = 'waiting' AND NOT EXISTS (
    SELECT 1 FROM webhook_deliveries o
    WHERE o.subscription_id = d.subscription_id AND o.chain = d.chain AND o.id < d.id
      AND o.status IN ('pending', 'waiting', 'held'))
ORDER BY d.id
LIMIT 100;

-- name: WebhooksDelivered :many
-- Successful attempts of a batch, in one statement: their log rows, the deliveries finished, the
-- subscriptions' failure streaks ended, and for each the next unfinished delivery of its chain
-- other than these successes (0 when none), which the caller wakes under the chain's lock.
WITH v AS (
    -- Set-returning functions in one select list advance together: the arrays, zipped.
    SELECT unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(subscription_ids)::bigint[]) AS subscription_id,
           unnest(sqlc.arg(chains)::text[]) AS chain, unnest(sqlc.arg(attempts)::int[]) AS attempt,
           unnest(sqlc.arg(attempted_at)::timestamptz[]) AS attempted_at, unnest(sqlc.arg(http_statuses)::int[]) AS http_status,
           unnest(sqlc.arg(latencies_ms)::int[]) AS latency_ms, unnest(sqlc.arg(excerpts)::text[]) AS excerpt
), a AS (
    INSERT INTO webhook_attempts (delivery_id, subscription_id, attempt, attempted_at, outcome, http_status, latency_ms, response_excerpt)
    SELECT v.id, v.subscription_id, v.attempt, v.attempted_at, 'delivered', v.http_status, v.latency_ms, nullif(v.excerpt, '') FROM v
), d AS (
    -- w.id = ANY(ids) makes w a primary-key probe per delivery: joined to v alone, it was planned
    -- as a hash join over a sequential scan of every delivery, a cost growing with the table.
    UPDATE webhook_deliveries w SET attempts = w.attempts + 1, status = 'delivered',
        first_attempt_at = coalesce(w.first_attempt_at, v.attempted_at), next_attempt_at = NULL, finished_at = sqlc.arg(now)::timestamptz
    FROM v WHERE w.id = v.id AND w.id = ANY (sqlc.arg(ids)::bigint[])
), s AS (
    UPDATE webhook_subscriptions SET failing_since = NULL
    WHERE id IN (SELECT v.subscription_id FROM v) AND failing_since IS NOT NULL
)
SELECT v.id::bigint AS id, v.subscription_id::bigint AS subscription_id, v.chain::text AS chain, coalesce(n.id, 0)::bigint AS next_id
FROM v
LEFT JOIN LATERAL (
    SELECT o.id FROM webhook_deliveries o
    WHERE o.subscription_id = v.subscription_id AND o.chain = v.chain AND o.id > v.id
      AND o.status IN ('pending', 'waiting', 'held') AND o.id <> ALL (sqlc.arg(ids)::bigint[])
    ORDER BY o.id LIMIT 1
) n ON true;

-- name: ListWebhookSecretsToReseal :many
-- One batch of `flowxi keys reencrypt`, keyset by id: subscriptions with a secret (current or
-- previous) not yet sealed under the newest key.
SELECT id, secret_sealed, previous_secret_sealed FROM webhook_subscriptions
WHERE id > sqlc.arg(after)::bigint
  AND (substring(secret_sealed from 1 for 5) <> sqlc.arg(header)::bytea
       OR substring(previous_secret_sealed from 1 for 5) <> sqlc.arg(header)::bytea)
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: ResealWebhookSecrets :execrows
-- Compare-and-set per row on both secrets: a subscription rotated since the batch read it
-- keeps its new secrets.
UPDATE webhook_subscriptions s SET secret_sealed = v.sealed, previous_secret_sealed = v.prev_sealed
FROM (SELECT unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(olds)::bytea[]) AS old,
             unnest(sqlc.arg(old_prevs)::bytea[]) AS old_prev, unnest(sqlc.arg(news)::bytea[]) AS sealed,
             unnest(sqlc.arg(new_prevs)::bytea[]) AS prev_sealed) AS v
WHERE s.id = v.id AND s.secret_sealed = v.old AND s.previous_secret_sealed IS NOT DISTINCT FROM v.old_prev;

-- name: CountWebhookSecretsToReseal :one
SELECT count(*) FROM webhook_subscriptions
WHERE substring(secret_sealed from 1 for 5) <> sqlc.arg(header)::bytea
   OR substring(previous_secret_sealed from 1 for 5) <> sqlc.arg(header)::bytea;
