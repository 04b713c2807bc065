-- Wallets and system accounts -------------------------------------------------------------------

-- name: CreateWallet :one
INSERT INTO ledger_accounts (kind, user_id, currency, created_at, updated_at, history_at)
VALUES ('user', sqlc.arg(user_id), sqlc.arg(currency), sqlc.arg(now), sqlc.arg(now), sqlc.arg(now))
RETURNING *;

-- name: ListUserWallets :many
SELECT * FROM ledger_accounts WHERE user_id = $1 AND kind = 'user' ORDER BY id;

-- name: EnsureSystemAccount :exec
INSERT INTO ledger_accounts (kind, currency) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: GetSystemAccount :one
SELECT id FROM ledger_accounts WHERE kind = $1 AND currency = $2;

-- name: GetOwnedWallet :one
-- The wallet, only when userID owns it (an ownership check).
SELECT a.id, a.currency, a.created_at FROM ledger_accounts a
WHERE a.id = sqlc.arg(id) AND a.user_id = sqlc.arg(user_id) AND a.kind = 'user';

-- name: GetWallet :one
SELECT a.*, u.username, u.status AS user_status
FROM ledger_accounts a JOIN users u ON u.id = a.user_id
WHERE a.id = $1 AND a.kind = 'user';

-- name: ResolveTransfers :many
-- Everything the transfers of a batch need before their accounts are locked, in one statement:
-- for each (ord), the source wallet (only when that user owns it) and the recipient, by username (their wallet in the currency,
-- if any) or by wallet id ('' and 0 stand for "not given"; to_user_status '' means no such
-- recipient). An ord without a row: the source wallet is not the caller's.
SELECT k.ord::bigint AS ord, a.id, a.currency, u.username,
       COALESCE(r.user_status, '') AS to_user_status, r.username AS to_username, r.account_id AS to_account_id, r.currency AS to_currency
FROM (SELECT unnest(sqlc.arg(from_wallet_ids)::bigint[]) AS from_wallet_id, unnest(sqlc.arg(user_ids)::bigint[]) AS user_id,
             unnest(sqlc.arg(currencies)::text[]) AS currency, unnest(sqlc.arg(to_usernames)::text[]) AS to_username,
             unnest(sqlc.arg(to_wallet_ids)::bigint[]) AS to_wallet_id,
             generate_subscripts(sqlc.arg(from_wallet_ids)::bigint[], 1) AS ord) k
JOIN ledger_accounts a ON a.id = k.from_wallet_id AND a.user_id = k.user_id AND a.kind = 'user'
JOIN users u ON u.id = a.user_id
LEFT JOIN LATERAL (
    SELECT ru.status AS user_status, ru.username, ra.id AS account_id, ra.currency
    FROM users ru LEFT JOIN ledger_accounts ra ON ra.user_id = ru.id AND ra.kind = 'user' AND ra.currency = k.currency
    WHERE ru.username = k.to_username
    UNION ALL
    SELECT ru.status, ru.username, ra.id, ra.currency
    FROM ledger_accounts ra JOIN users ru ON ru.id = ra.user_id
    WHERE ra.id = k.to_wallet_id AND ra.kind = 'user'
    LIMIT 1
) r ON true;

-- name: SetWalletStatus :one
UPDATE ledger_accounts SET status = sqlc.arg(status), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND kind = 'user'
RETURNING *;

-- name: LockWallet :one
SELECT * FROM ledger_accounts WHERE id = $1 AND kind = 'user' FOR NO KEY UPDATE;

-- Posting engine ---------------------------------------------------------------------------------

-- name: ClaimIdempotencyKeys :many
-- One transaction-scoped advisory lock per (caller, key), never waited for: a key already held
-- by another in-flight request answers IDEMPOTENCY_IN_PROGRESS. Also reserves one transaction id
-- per item.
SELECT k.ord::bigint AS ord,
       pg_try_advisory_xact_lock(hashtextextended(k.lock_key, 7411)) AS acquired,
       nextval('ledger_transactions_id_seq')::bigint AS transaction_id
FROM (SELECT unnest(sqlc.arg(lock_keys)::text[]) AS lock_key, generate_subscripts(sqlc.arg(lock_keys)::text[], 1) AS ord) k
ORDER BY k.ord;

-- name: GetIdempotencyRecords :many
SELECT caller, key, request_hash, response_status, response_code, response_data, transaction_id
FROM idempotency_keys
WHERE (caller, key) IN (SELECT unnest(sqlc.arg(callers)::text[]), unnest(sqlc.arg(keys)::text[]))
  AND expires_at > sqlc.arg(now);

-- name: LockAccounts :many
-- Every account of a batch, locked in one statement in id order (no deadlocks between batches),
-- with what the money policy decides on: the owner's status, and for the accounts money leaves
-- (senders) the owner's compliance facts (the view belongs to compliance; '' / false otherwise:
-- receiving is never decided on them). FOR NO KEY UPDATE still lets foreign-key checks of other
-- inserts take their KEY SHARE locks. history_at: the batch's clock is clamped to it.
SELECT a.id, a.kind, a.user_id, a.currency, a.status, a.balance, a.pending, a.version, a.last_hash, a.history_at,
       a.spend_hours, a.spend_month, a.spend_month_start,
       COALESCE(u.status, '')::text AS owner_status, COALESCE(e.account_type, '')::text AS account_type,
       COALESCE(e.case_status, '')::text AS case_status, COALESCE(e.restricted, false)::boolean AS restricted
FROM ledger_accounts a
LEFT JOIN users u ON u.id = a.user_id
LEFT JOIN LATERAL (
    SELECT x.account_type, x.case_status, x.restricted FROM compliance_send_eligibility x
    WHERE x.user_id = a.user_id AND a.id = ANY(sqlc.arg(senders)::bigint[])
) e ON true
WHERE a.id = ANY(sqlc.arg(ids)::bigint[])
ORDER BY a.id
FOR NO KEY UPDATE OF a;

-- name: LockExternalRefs :exec
-- One transaction-scoped advisory lock per external reference of a batch, waited for, in a fixed
-- order: two requests with one reference are decided one after the other.
SELECT count(pg_advisory_xact_lock(hashtextextended(k, 7412)))
FROM (SELECT DISTINCT unnest(sqlc.arg(lock_keys)::text[]) AS k ORDER BY 1) x;

-- name: FindExternalRefs :many
-- Transactions that already use a reference (read after LockExternalRefs, so a request that
-- committed meanwhile is seen).
-- The LATERAL ... LIMIT 1 makes each reference one lookup in the unique index (a plain join may
-- be planned, while the table is small, as a walk of the whole index, and the generic plan keeps it).
SELECT t.*, fu.username AS from_username, tu.username AS to_username
FROM (SELECT unnest(sqlc.arg(kinds)::text[]) AS kind, unnest(sqlc.arg(currencies)::text[]) AS currency,
             unnest(sqlc.arg(refs)::text[]) AS ref) k
JOIN LATERAL (
    SELECT x.* FROM ledger_transactions x
    WHERE x.kind = k.kind AND x.currency = k.currency AND x.external_ref = k.ref
      AND x.external_ref IS NOT NULL AND x.kind IN ('deposit', 'withdrawal') AND x.status IN ('posted', 'pending')
    LIMIT 1
) t ON true
LEFT JOIN ledger_accounts fa ON fa.id = t.from_account_id AND fa.kind = 'user'
LEFT JOIN users fu ON fu.id = fa.user_id
LEFT JOIN ledger_accounts ta ON ta.id = t.to_account_id AND ta.kind = 'user'
LEFT JOIN users tu ON tu.id = ta.user_id;

-- name: ListExpiredHolds :many
-- Pending holds past their expiry, oldest first.
SELECT id FROM ledger_transactions
WHERE kind = 'withdrawal' AND status = 'pending' AND expires_at <= sqlc.arg(now)::timestamptz
ORDER BY expires_at
LIMIT sqlc.arg(lim);

-- name: GetHolds :many
-- Read after the hold's wallet is locked: a hold's status only changes under that lock.
SELECT id, kind, status, currency, amount, from_account_id, to_account_id, expires_at, created_at
FROM ledger_transactions WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: GetHold :one
SELECT t.*, a.user_id AS owner_id, u.username AS owner_username
FROM ledger_transactions t JOIN ledger_accounts a ON a.id = t.from_account_id JOIN users u ON u.id = a.user_id
WHERE t.id = $1 AND t.kind = 'withdrawal';

-- name: PostBatch :one
-- Writes a whole batch in one statement: new transactions, entries, account heads (guarded by the
-- version read under the lock and by the available balance: the conditional debit), finalized
-- holds, idempotency records, audit events and domain events. The caller compares the counts with what it sent.
WITH new_tx AS (
    INSERT INTO ledger_transactions (id, kind, status, currency, amount, from_account_id, to_account_id, failure_code,
        idempotency_key, initiator_type, initiator_id, note, external_ref, created_at, finalized_at, expires_at, from_pos, to_pos, reverses_id)
    SELECT unnest(sqlc.arg(t_id)::bigint[]), unnest(sqlc.arg(t_kind)::text[]), unnest(sqlc.arg(t_status)::text[]),
        unnest(sqlc.arg(t_currency)::text[]), unnest(sqlc.arg(t_amount)::bigint[]),
        NULLIF(unnest(sqlc.arg(t_from)::bigint[]), 0), NULLIF(unnest(sqlc.arg(t_to)::bigint[]), 0),
        NULLIF(unnest(sqlc.arg(t_failure)::text[]), ''), NULLIF(unnest(sqlc.arg(t_key)::text[]), ''),
        unnest(sqlc.arg(t_init_type)::text[]), unnest(sqlc.arg(t_init_id)::text[]),
        NULLIF(unnest(sqlc.arg(t_note)::text[]), ''), NULLIF(unnest(sqlc.arg(t_ext)::text[]), ''),
        sqlc.arg(now)::timestamptz,
        -- finalized_at: the zero time (0001-01-01) stands for NULL (an SRF cannot sit inside CASE).
        NULLIF(unnest(sqlc.arg(t_finalized)::timestamptz[]), '0001-01-01 00:00:00+00'::timestamptz),
        NULLIF(unnest(sqlc.arg(t_expires)::timestamptz[]), '0001-01-01 00:00:00+00'::timestamptz),
        -- positions in the two accounts' histories (0: none, see migration 00044)
        NULLIF(unnest(sqlc.arg(t_from_pos)::bigint[]), 0), NULLIF(unnest(sqlc.arg(t_to_pos)::bigint[]), 0),
        NULLIF(unnest(sqlc.arg(t_reverses)::bigint[]), 0)
    RETURNING 1
), new_entries AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, version, prev_hash, hash, created_at)
    SELECT unnest(sqlc.arg(e_tx)::bigint[]), unnest(sqlc.arg(e_account)::bigint[]), unnest(sqlc.arg(e_amount)::bigint[]),
        unnest(sqlc.arg(e_balance)::bigint[]), unnest(sqlc.arg(e_version)::bigint[]),
        unnest(sqlc.arg(e_prev)::bytea[]), unnest(sqlc.arg(e_hash)::bytea[]), sqlc.arg(now)::timestamptz
    RETURNING 1
), heads AS (
    UPDATE ledger_accounts a
    SET balance = v.balance, pending = v.pending, version = v.version, last_hash = v.hash, updated_at = sqlc.arg(now)::timestamptz,
        history_at = sqlc.arg(now)::timestamptz,
        spend_hours = v.spend_hours, spend_month = v.spend_month, spend_month_start = NULLIF(v.spend_month_start, '0001-01-01 00:00:00+00'::timestamptz)
    FROM (SELECT unnest(sqlc.arg(a_id)::bigint[]) AS id, unnest(sqlc.arg(a_old_version)::bigint[]) AS old_version,
                 unnest(sqlc.arg(a_balance)::bigint[]) AS balance, unnest(sqlc.arg(a_pending)::bigint[]) AS pending,
                 unnest(sqlc.arg(a_version)::bigint[]) AS version, unnest(sqlc.arg(a_hash)::bytea[]) AS hash,
                 unnest(sqlc.arg(a_spend_hours)::bytea[]) AS spend_hours,
                 unnest(sqlc.arg(a_spend_month)::bigint[]) AS spend_month,
                 unnest(sqlc.arg(a_spend_month_start)::timestamptz[]) AS spend_month_start) v
    WHERE a.id = v.id AND a.version = v.old_version
      AND (a.kind <> 'user' OR a.balance - a.pending + (v.balance - a.balance) - (v.pending - a.pending) >= 0)
    RETURNING 1
), holds AS (
    -- A settled hold moves to the place of its settlement in both histories (0: a void keeps it).
    UPDATE ledger_transactions t SET status = v.status, finalized_at = sqlc.arg(now)::timestamptz,
        from_pos = COALESCE(NULLIF(v.from_pos, 0), t.from_pos), to_pos = COALESCE(NULLIF(v.to_pos, 0), t.to_pos)
    FROM (SELECT unnest(sqlc.arg(h_id)::bigint[]) AS id, unnest(sqlc.arg(h_status)::text[]) AS status,
                 unnest(sqlc.arg(h_from_pos)::bigint[]) AS from_pos, unnest(sqlc.arg(h_to_pos)::bigint[]) AS to_pos) v
    WHERE t.id = v.id AND t.status = 'pending'
    RETURNING 1
), idem AS (
    INSERT INTO idempotency_keys AS ik (caller, key, request_hash, response_status, response_code, response_data, transaction_id, created_at, expires_at)
    SELECT unnest(sqlc.arg(i_caller)::text[]), unnest(sqlc.arg(i_key)::text[]), unnest(sqlc.arg(i_hash)::bytea[]),
        unnest(sqlc.arg(i_status)::int[]), unnest(sqlc.arg(i_code)::text[]), unnest(sqlc.arg(i_data)::text[])::jsonb,
        NULLIF(unnest(sqlc.arg(i_tx)::bigint[]), 0), sqlc.arg(now)::timestamptz, sqlc.arg(expires)::timestamptz
    ON CONFLICT (caller, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
        response_code = EXCLUDED.response_code, response_data = EXCLUDED.response_data, transaction_id = EXCLUDED.transaction_id,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE ik.expires_at <= EXCLUDED.created_at
    RETURNING 1
), audit AS (
    INSERT INTO audit_events (occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details)
    SELECT sqlc.arg(now)::timestamptz, unnest(sqlc.arg(au_actor_type)::text[]), NULLIF(unnest(sqlc.arg(au_actor_id)::text[]), ''),
        unnest(sqlc.arg(au_action)::text[]), 'ledger_transaction', unnest(sqlc.arg(au_subject)::text[]),
        NULLIF(unnest(sqlc.arg(au_user)::bigint[]), 0), NULLIF(unnest(sqlc.arg(au_ip)::text[]), ''),
        NULLIF(unnest(sqlc.arg(au_ua)::text[]), ''), NULLIF(unnest(sqlc.arg(au_rid)::text[]), ''),
        unnest(sqlc.arg(au_details)::text[])::jsonb
    RETURNING 1
), ev AS (
    -- The domain events of the batch (services/events), in item order (their ids follow it).
    INSERT INTO events (type, version, occurred_at, subject_type, subject_id, user_id, data)
    SELECT unnest(sqlc.arg(ev_type)::text[]), unnest(sqlc.arg(ev_version)::int[]), sqlc.arg(now)::timestamptz,
        unnest(sqlc.arg(ev_subject_type)::text[]), unnest(sqlc.arg(ev_subject_id)::text[]),
        NULLIF(unnest(sqlc.arg(ev_user)::bigint[]), 0), unnest(sqlc.arg(ev_data)::text[])::jsonb
    RETURNING 1
)
SELECT (SELECT count(*) FROM new_tx)::bigint AS transactions,
       (SELECT count(*) FROM new_entries)::bigint AS entries,
       (SELECT count(*) FROM heads)::bigint AS accounts,
       (SELECT count(*) FROM holds)::bigint AS holds,
       (SELECT count(*) FROM idem)::bigint AS idempotency,
       (SELECT count(*) FROM audit)::bigint AS audits,
       (SELECT count(*) FROM ev)::bigint AS events;

-- name: DeleteExpiredIdempotencyKeys :execrows
DELETE FROM idempotency_keys d
USING (SELECT k.caller, k.key FROM idempotency_keys k WHERE k.expires_at <= sqlc.arg(now) LIMIT 1000) x
WHERE d.caller = x.caller AND d.key = x.key;

-- Reads ------------------------------------------------------------------------------------------

-- name: GetTransactionForUser :one
-- A transaction the user took part in: every one they sent, only posted ones they received.
SELECT t.*, fu.username AS from_username, tu.username AS to_username
FROM ledger_transactions t
LEFT JOIN ledger_accounts fa ON fa.id = t.from_account_id
LEFT JOIN users fu ON fu.id = fa.user_id
LEFT JOIN ledger_accounts ta ON ta.id = t.to_account_id
LEFT JOIN users tu ON tu.id = ta.user_id
WHERE t.id = sqlc.arg(id)
  AND (fa.user_id = sqlc.arg(user_id) OR (ta.user_id = sqlc.arg(user_id) AND t.status = 'posted'));

-- (the wallet history's queries are in history.sql)

-- name: GetOwnedWalletTier :one
-- A wallet of the user with what its spending limits depend on (the owner's tier and whether its
-- case is approved: the view belongs to compliance).
SELECT a.id, a.currency, a.spend_hours, a.spend_month, a.spend_month_start,
       COALESCE(e.account_type, 'personal')::text AS account_type, e.case_status::text AS case_status
FROM ledger_accounts a JOIN compliance_send_eligibility e ON e.user_id = a.user_id
WHERE a.id = sqlc.arg(id) AND a.user_id = sqlc.arg(user_id) AND a.kind = 'user';

-- Invariants (flowxi ledger check) ------------------------------------------------------------


-- name: CheckCurrencySums :many
SELECT a.currency, sum(e.amount)::bigint AS total
FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
GROUP BY a.currency HAVING sum(e.amount) <> 0;

-- name: CheckAccountHeads :many
-- Balance equal to the entries, versions 1..n without gaps, head version equal to n.
SELECT a.id, a.balance, a.version, COALESCE(s.total, 0)::bigint AS entries_total,
       COALESCE(s.n, 0)::bigint AS entries_count, COALESCE(s.max_version, 0)::bigint AS max_version
FROM ledger_accounts a
LEFT JOIN (SELECT account_id, sum(amount) AS total, count(*) AS n, max(version) AS max_version, min(version) AS min_version
           FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
WHERE a.balance <> COALESCE(s.total, 0) OR a.version <> COALESCE(s.n, 0) OR COALESCE(s.max_version, 0) <> COALESCE(s.n, 0)
   OR COALESCE(s.min_version, 1) <> 1;

-- name: CheckPendingHolds :many
SELECT a.id, a.pending, COALESCE(h.total, 0)::bigint AS holds_total
FROM ledger_accounts a
LEFT JOIN (SELECT from_account_id, sum(amount) AS total FROM ledger_transactions
           WHERE kind = 'withdrawal' AND status = 'pending' GROUP BY from_account_id) h ON h.from_account_id = a.id
WHERE a.pending <> COALESCE(h.total, 0);

-- name: CheckNegativeWallets :many
SELECT id, balance, pending FROM ledger_accounts
WHERE kind = 'user' AND (balance < 0 OR balance - pending < 0);

-- name: CheckTransactionBalance :many
-- Posted transactions have balanced entries (two or more); others have none.
SELECT t.id, t.status, COALESCE(s.total, 0)::bigint AS total, COALESCE(s.n, 0)::bigint AS n
FROM ledger_transactions t
LEFT JOIN (SELECT transaction_id, sum(amount) AS total, count(*) AS n FROM ledger_entries GROUP BY transaction_id) s
    ON s.transaction_id = t.id
WHERE (t.status = 'posted' AND (COALESCE(s.n, 0) < 2 OR COALESCE(s.total, 0) <> 0))
   OR (t.status <> 'posted' AND COALESCE(s.n, 0) <> 0);

-- name: ListEntriesSince :many
-- The entries of each given account from the given version up, in chain order, for the
-- hash-chain walk (0: the whole chain; otherwise the verified entry, then those above it); one
-- range of ledger_entries_account_version per account.
SELECT e.account_id, e.transaction_id, e.amount, e.balance_after, e.version, e.prev_hash, e.hash, e.created_at
FROM (SELECT unnest(sqlc.arg(accounts)::bigint[]) AS account_id, unnest(sqlc.arg(versions)::bigint[]) AS version) c
JOIN LATERAL (SELECT * FROM ledger_entries x WHERE x.account_id = c.account_id AND x.version >= c.version ORDER BY x.version) e ON true
ORDER BY e.account_id, e.version;

-- name: ListAccountHeads :many
SELECT id, kind, balance, pending, version, last_hash, history_at FROM ledger_accounts ORDER BY id;

-- name: CheckOrphans :many
-- Entries and transactions that point at a missing account or transaction (the write path has no
-- foreign keys; see migration 00032), and entries booked on an account their transaction does
-- not name.
SELECT 'entry'::text AS kind, e.id, e.account_id AS ref
FROM ledger_entries e LEFT JOIN ledger_accounts a ON a.id = e.account_id
WHERE a.id IS NULL
UNION ALL
SELECT 'entry_transaction', e.id, e.transaction_id
FROM ledger_entries e LEFT JOIN ledger_transactions t ON t.id = e.transaction_id
WHERE t.id IS NULL OR e.account_id IS DISTINCT FROM t.from_account_id AND e.account_id IS DISTINCT FROM t.to_account_id
UNION ALL
SELECT 'transaction', t.id, CASE WHEN f.id IS NULL THEN t.from_account_id ELSE t.to_account_id END
FROM ledger_transactions t
LEFT JOIN ledger_accounts f ON f.id = t.from_account_id
LEFT JOIN ledger_accounts d ON d.id = t.to_account_id
WHERE (t.from_account_id IS NOT NULL AND f.id IS NULL) OR (t.to_account_id IS NOT NULL AND d.id IS NULL);

-- name: CheckSettlementSign :many
-- The settlement account of a currency is the other side of every deposit and withdrawal: it
-- holds minus what the outside world has put in, so it is never positive, and it is never held on.
SELECT id, currency, balance, pending FROM ledger_accounts
WHERE kind = 'settlement' AND (balance > 0 OR pending <> 0);

-- Incremental check (services/ledger/check.go; migration 00052): the invariants above restricted
-- to what came after the last verified checkpoint.

-- name: LatestCheckpoint :one
SELECT id, entries_through, transactions_through FROM ledger_checkpoints ORDER BY id DESC LIMIT 1;

-- name: SnapshotThrough :one
-- The highest entry and transaction ids the check's snapshot holds (a checkpoint's horizon).
SELECT COALESCE((SELECT max(id) FROM ledger_entries), 0)::bigint AS entries_through,
       COALESCE((SELECT max(id) FROM ledger_transactions), 0)::bigint AS transactions_through;

-- name: InsertCheckpoint :one
INSERT INTO ledger_checkpoints (full_check, entries_through, transactions_through, entries_checked, accounts_checked, started_at, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id;

-- name: SaveCheckpointHeads :exec
-- The verified heads of the accounts a check walked (all of them after a full check).
INSERT INTO ledger_checkpoint_heads AS h (account_id, version, balance, hash, posted_at, pending, history_at, checkpoint_id)
SELECT unnest(sqlc.arg(accounts)::bigint[]), unnest(sqlc.arg(versions)::bigint[]), unnest(sqlc.arg(balances)::bigint[]),
       unnest(sqlc.arg(hashes)::bytea[]), NULLIF(unnest(sqlc.arg(posted)::timestamptz[]), '0001-01-01 00:00:00+00'::timestamptz),
       unnest(sqlc.arg(pending)::bigint[]), NULLIF(unnest(sqlc.arg(history)::timestamptz[]), '0001-01-01 00:00:00+00'::timestamptz),
       sqlc.arg(checkpoint_id)::bigint
ON CONFLICT (account_id) DO UPDATE SET version = EXCLUDED.version, balance = EXCLUDED.balance, hash = EXCLUDED.hash,
    posted_at = EXCLUDED.posted_at, pending = EXCLUDED.pending, history_at = EXCLUDED.history_at, checkpoint_id = EXCLUDED.checkpoint_id;

-- name: ChangedAccounts :many
-- The accounts to re-read since the checkpoint, each with the verified head its walk continues
-- from: new ones, those whose head moved, and those whose head did not move but whose top entry
-- is not the verified one (an entry above the verified version, or the verified entry rewritten
-- or deleted). Only an unmoved head costs a lookup, one descending probe of
-- ledger_entries_account_version (its conditions on a and h gate the probe: the planner runs it
-- only when they hold); a moved one is read from its verified entry by the walk, which checks
-- that entry's hash (walkOne).
SELECT a.id, a.kind, a.balance, a.pending, a.version, a.last_hash, a.history_at,
       COALESCE(h.version, 0)::bigint AS from_version, COALESCE(h.balance, 0)::bigint AS from_balance,
       COALESCE(h.hash, decode(repeat('00', 32), 'hex')) AS from_hash, h.posted_at AS from_at
FROM ledger_accounts a
LEFT JOIN ledger_checkpoint_heads h ON h.account_id = a.id
LEFT JOIN LATERAL (SELECT e.version, e.hash FROM ledger_entries e
                   WHERE e.account_id = a.id AND e.version >= h.version
                     AND a.version = h.version AND a.balance = h.balance AND a.last_hash = h.hash
                     AND a.pending = h.pending AND a.history_at IS NOT DISTINCT FROM h.history_at
                   ORDER BY e.version DESC LIMIT 1) top ON true
WHERE h.account_id IS NULL OR a.version <> h.version OR a.balance <> h.balance OR a.last_hash <> h.hash
   OR a.pending <> h.pending OR a.history_at IS DISTINCT FROM h.history_at
   OR (h.version > 0 AND (top.version IS DISTINCT FROM h.version OR top.hash IS DISTINCT FROM h.hash))
   OR (h.version = 0 AND top.version IS NOT NULL)
ORDER BY a.id;

-- name: CheckCurrencyBalances :many
-- Per currency the accounts' balances sum to zero: with every balance verified equal to its
-- entries (the walk), this is CheckCurrencySums without reading the entries.
SELECT currency, sum(balance)::bigint AS total FROM ledger_accounts GROUP BY currency HAVING sum(balance) <> 0;

-- name: CheckTransactionsSince :many
-- The transactions' invariants of the full check (CheckTransactionBalance, CheckOrphans,
-- CheckHistoryPositions, CheckReversals) in one pass over what came after a checkpoint: the
-- transactions of the walked entries (ids) and of every entry above the entry horizon
-- (after_entry), every one above the transaction horizon (after), and every one recorded in a
-- re-read account's history at or after its verified version (from_pos ≥ 2·v + 1: failed attempts
-- and holds move no entry). Each transaction is read once, with its entries (one primary-key
-- probe, one probe of ledger_entries_transaction), into tx; each branch below is one invariant
-- over tx (any other row it reads is a probe, in a LATERAL ... LIMIT 1 where a join could
-- become a scan of a whole table) and returns a row per violation, named by problem ('balance': n entries summing to
-- total; 'entry', 'entry_transaction', 'transaction': ref is the missing or foreign row;
-- 'position', 'instant'; 'reversal', 'over_reversed': ref is the original, or its amount).
WITH ids AS (
    SELECT unnest(sqlc.arg(ids)::bigint[]) AS id
    UNION
    SELECT e.transaction_id FROM ledger_entries e WHERE e.id > sqlc.arg(after_entry)::bigint
    UNION
    SELECT t.id FROM ledger_transactions t WHERE t.id > sqlc.arg(after)::bigint
    UNION
    SELECT x.id FROM (SELECT unnest(sqlc.arg(accounts)::bigint[]) AS account_id, unnest(sqlc.arg(versions)::bigint[]) AS version) c
    -- OFFSET 0 keeps it a range of ledger_transactions_out per account: pulled up into a plain
    -- join, it became a merge join over that whole index.
    JOIN LATERAL (SELECT t.id FROM ledger_transactions t WHERE t.from_account_id = c.account_id AND t.from_pos >= 2 * c.version + 1 OFFSET 0) x ON true
), tx AS MATERIALIZED (
    SELECT i.id, t.id AS found, t.kind, t.status, t.currency, t.amount, t.from_account_id, t.to_account_id, t.from_pos, t.to_pos,
           t.finalized_at, t.created_at, t.reverses_id, s.*
    FROM ids i
    -- LIMIT 1 keeps it a probe per transaction (a plain join can become a merge over the whole key).
    LEFT JOIN LATERAL (SELECT * FROM ledger_transactions x WHERE x.id = i.id LIMIT 1) t ON true
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, COALESCE(sum(e.amount), 0) AS total,
               count(*) FILTER (WHERE e.account_id IS DISTINCT FROM t.from_account_id AND e.account_id IS DISTINCT FROM t.to_account_id) AS foreign_n,
               count(*) FILTER (WHERE e.account_id = t.from_account_id) AS from_n,
               max(e.version) FILTER (WHERE e.account_id = t.from_account_id) AS from_version,
               max(e.created_at) FILTER (WHERE e.account_id = t.from_account_id) AS from_at,
               count(*) FILTER (WHERE e.account_id = t.to_account_id) AS to_n,
               max(e.version) FILTER (WHERE e.account_id = t.to_account_id) AS to_version,
               max(e.created_at) FILTER (WHERE e.account_id = t.to_account_id) AS to_at
        FROM ledger_entries e WHERE e.transaction_id = i.id) s
)
SELECT 'balance'::text AS problem, tx.id::bigint AS id, 0::bigint AS ref, tx.n::bigint AS n, tx.total::bigint AS total, COALESCE(tx.status, '')::text AS status
FROM tx
WHERE tx.found IS NOT NULL AND ((tx.status = 'posted' AND (tx.n < 2 OR tx.total <> 0)) OR (tx.status <> 'posted' AND tx.n <> 0))
UNION ALL
SELECT 'entry', e.id, e.account_id, 0, 0, ''
FROM ledger_entries e LEFT JOIN ledger_accounts a ON a.id = e.account_id
WHERE e.id > sqlc.arg(after_entry)::bigint AND a.id IS NULL
UNION ALL
SELECT 'entry_transaction', e.id, e.transaction_id, 0, 0, ''
FROM tx
CROSS JOIN LATERAL (SELECT e.id, e.transaction_id FROM ledger_entries e WHERE e.transaction_id = tx.id
                      AND (tx.found IS NULL OR e.account_id IS DISTINCT FROM tx.from_account_id AND e.account_id IS DISTINCT FROM tx.to_account_id)) e
WHERE tx.found IS NULL OR tx.foreign_n > 0
UNION ALL
SELECT 'transaction', tx.id, CASE WHEN f.id IS NULL THEN tx.from_account_id ELSE tx.to_account_id END, 0, 0, ''
FROM tx
LEFT JOIN ledger_accounts f ON f.id = tx.from_account_id
LEFT JOIN ledger_accounts d ON d.id = tx.to_account_id
WHERE (tx.from_account_id IS NOT NULL AND f.id IS NULL) OR (tx.to_account_id IS NOT NULL AND d.id IS NULL)
UNION ALL
SELECT 'position', tx.id, 0, 0, 0, ''
FROM tx
WHERE tx.found IS NOT NULL
  AND ((tx.status = 'posted' AND (tx.from_n > 1 OR tx.to_n > 1 OR tx.from_pos IS DISTINCT FROM 2 * tx.from_version
                                  OR tx.to_pos IS DISTINCT FROM 2 * tx.to_version
                                  OR tx.finalized_at IS DISTINCT FROM tx.from_at OR tx.finalized_at IS DISTINCT FROM tx.to_at))
    OR (tx.status <> 'posted' AND (tx.from_pos IS NULL OR tx.from_pos % 2 <> 1 OR tx.to_pos IS NOT NULL)))
UNION ALL
SELECT 'instant', tx.id, 0, 0, 0, ''
FROM tx
JOIN ledger_accounts a ON a.id = tx.from_account_id AND a.kind = 'user'
LEFT JOIN LATERAL (SELECT e.id, e.created_at FROM ledger_entries e WHERE e.account_id = tx.from_account_id AND e.version = tx.from_pos / 2 LIMIT 1) lo ON true
LEFT JOIN LATERAL (SELECT e.created_at FROM ledger_entries e WHERE e.account_id = tx.from_account_id AND e.version = tx.from_pos / 2 + 1 LIMIT 1) hi ON true
WHERE tx.status <> 'posted' AND tx.from_pos % 2 = 1
  AND (tx.created_at < lo.created_at OR tx.created_at > hi.created_at OR (tx.from_pos / 2 > 0 AND lo.id IS NULL))
UNION ALL
SELECT 'reversal', r.id, COALESCE(r.reverses_id, 0), 0, 0, ''
FROM tx r
LEFT JOIN LATERAL (SELECT o.id, o.status, o.kind, o.currency, o.from_account_id, o.to_account_id FROM ledger_transactions o
                   WHERE o.id = r.reverses_id LIMIT 1) o ON true
WHERE r.kind = 'reversal' AND r.status = 'posted'
  AND (o.id IS NULL OR o.status <> 'posted' OR o.kind = 'reversal' OR o.currency <> r.currency
       OR r.from_account_id IS DISTINCT FROM o.to_account_id OR r.to_account_id IS DISTINCT FROM o.from_account_id)
UNION ALL
SELECT 'over_reversed', o.id, o.amount, 0, s.total, ''
FROM (SELECT DISTINCT tx.reverses_id FROM tx WHERE tx.reverses_id IS NOT NULL) r
CROSS JOIN LATERAL (SELECT o.id, o.amount FROM ledger_transactions o WHERE o.id = r.reverses_id LIMIT 1) o
CROSS JOIN LATERAL (SELECT COALESCE(sum(x.amount), 0)::bigint AS total FROM ledger_transactions x
                    WHERE x.reverses_id = o.id AND x.kind = 'reversal' AND x.status = 'posted') s
WHERE s.total > o.amount;

-- Reversals --------------------------------------------------------------------------------------

-- Reversals (services/ledger/reversal.go): compensating transactions that name their original.

-- name: GetReversalOriginal :one
-- The transaction to reverse, with what its accounts are (a user wallet or a system account) and
-- their owners. Read before queueing: only its status can change later, and only from pending.
SELECT t.id, t.kind, t.status, t.currency, t.amount, t.from_account_id, t.to_account_id,
       COALESCE(fa.kind, '')::text AS from_kind, fa.user_id AS from_user_id, fu.username AS from_username,
       COALESCE(ta.kind, '')::text AS to_kind, ta.user_id AS to_user_id, tu.username AS to_username
FROM ledger_transactions t
LEFT JOIN ledger_accounts fa ON fa.id = t.from_account_id
LEFT JOIN users fu ON fu.id = fa.user_id
LEFT JOIN ledger_accounts ta ON ta.id = t.to_account_id
LEFT JOIN users tu ON tu.id = ta.user_id
WHERE t.id = $1;

-- name: ReversedAmounts :many
-- What the posted reversals of each original moved back. The batch reads it after locking the
-- originals' accounts, which every reversal of them also locks: nothing can change it meanwhile.
SELECT reverses_id::bigint AS id, sum(amount)::bigint AS reversed
FROM ledger_transactions
WHERE reverses_id = ANY(sqlc.arg(ids)::bigint[]) AND status = 'posted'
GROUP BY reverses_id;

-- name: ListReversalsOf :many
-- The posted reversals of one transaction, oldest first (its view shows them).
SELECT id, amount FROM ledger_transactions
WHERE reverses_id = sqlc.arg(id)::bigint AND status = 'posted'
ORDER BY id;

-- name: CheckReversals :many
-- Posted reversals that do not mirror a posted original (missing, not posted, itself a reversal,
-- another currency, accounts not swapped), and originals reversed beyond their amount.
SELECT 'reversal'::text AS kind, r.id, COALESCE(r.reverses_id, 0)::bigint AS ref, 0::bigint AS total
FROM ledger_transactions r LEFT JOIN ledger_transactions o ON o.id = r.reverses_id
WHERE r.kind = 'reversal' AND r.status = 'posted'
  AND (o.id IS NULL OR o.status <> 'posted' OR o.kind = 'reversal' OR o.currency <> r.currency
       OR r.from_account_id IS DISTINCT FROM o.to_account_id OR r.to_account_id IS DISTINCT FROM o.from_account_id)
UNION ALL
SELECT 'over_reversed'::text, o.id, o.amount, s.total::bigint
FROM (SELECT x.reverses_id, sum(x.amount) AS total FROM ledger_transactions x
      WHERE x.kind = 'reversal' AND x.status = 'posted' GROUP BY x.reverses_id) s
JOIN ledger_transactions o ON o.id = s.reverses_id
WHERE s.total > o.amount;

-- Statements ------------------------------------------------------------------------------------

-- Statements (services/ledger/statement.go): a wallet's posted movements over a period, by the
-- instant they were posted (ledger_entries_account_time; migration 00045).

-- name: GetStatementWallet :one
-- One of the user's wallets, with the holder's name as the profile has it.
SELECT a.id, a.currency, u.username, u.first_name, u.last_name
FROM ledger_accounts a JOIN users u ON u.id = a.user_id
WHERE a.id = sqlc.arg(id) AND a.user_id = sqlc.arg(user_id) AND a.kind = 'user';

-- name: StatementOpening :one
-- The balance at from_at: the running balance of the wallet's last entry before it (0 before
-- its first).
SELECT COALESCE((SELECT e.balance_after FROM ledger_entries e
                 WHERE e.account_id = sqlc.arg(account_id) AND e.created_at < sqlc.arg(from_at)
                 ORDER BY e.created_at DESC, e.version DESC LIMIT 1), 0)::bigint AS opening;

-- name: ListStatementEntries :many
-- The wallet's entries posted in [from_at, to_at), in posting order (instants never go back
-- along an account's versions), with what a statement line shows of their transaction.
SELECT e.version, e.amount, e.balance_after, e.created_at, t.id AS transaction_id, t.kind, t.note, t.reverses_id,
       cu.username AS counterparty
FROM ledger_entries e
JOIN ledger_transactions t ON t.id = e.transaction_id
LEFT JOIN ledger_accounts ca ON ca.kind = 'user'
    AND ca.id = CASE WHEN t.from_account_id = e.account_id THEN t.to_account_id ELSE t.from_account_id END
LEFT JOIN users cu ON cu.id = ca.user_id
WHERE e.account_id = sqlc.arg(account_id) AND e.created_at >= sqlc.arg(from_at) AND e.created_at < sqlc.arg(to_at)
ORDER BY e.created_at, e.version
LIMIT sqlc.arg(lim);

-- name: CheckHistoryPositions :many
-- Every transaction's place in its accounts' histories (migration 00044): a posted one at 2·v of
-- its entry on each side, finalized at its entries' instant; any other at an odd place 2·v + 1
-- of its source only. In a wallet's history (system accounts have no listed history) an
-- entry-less item is recorded between the instants of the entries v and v + 1, and along the
-- versions the entries' instants never go back (checked by the chain walk, checkChains).
SELECT t.id, 'position'::text AS problem
FROM ledger_transactions t
LEFT JOIN ledger_entries ef ON ef.transaction_id = t.id AND ef.account_id = t.from_account_id
LEFT JOIN ledger_entries et ON et.transaction_id = t.id AND et.account_id = t.to_account_id
WHERE (t.status = 'posted' AND (t.from_pos IS DISTINCT FROM 2 * ef.version OR t.to_pos IS DISTINCT FROM 2 * et.version
                                OR t.finalized_at IS DISTINCT FROM ef.created_at OR t.finalized_at IS DISTINCT FROM et.created_at))
   OR (t.status <> 'posted' AND (t.from_pos IS NULL OR t.from_pos % 2 <> 1 OR t.to_pos IS NOT NULL))
UNION ALL
SELECT t.id, 'instant'
FROM ledger_transactions t
JOIN ledger_accounts a ON a.id = t.from_account_id AND a.kind = 'user'
LEFT JOIN ledger_entries lo ON lo.account_id = t.from_account_id AND lo.version = t.from_pos / 2
LEFT JOIN ledger_entries hi ON hi.account_id = t.from_account_id AND hi.version = t.from_pos / 2 + 1
WHERE t.status <> 'posted' AND t.from_pos % 2 = 1
  AND (t.created_at < lo.created_at OR t.created_at > hi.created_at OR (t.from_pos / 2 > 0 AND lo.id IS NULL));

-- History (services/ledger/history.go) -----------------------------------------------------------

-- Wallet history in posting order, and balances at an instant (migration 00044 explains the
-- positions and the index paths).

-- name: ListWalletHistory :many
-- One keyset page of a wallet's history, newest first: what left it (out: every transaction
-- from it) and what reached it (in: posted ones), each stream read on the index path the caller
-- picked (out_driver / in_driver: 'all', 'kind', 'status' (out only), 'other'; '' skips the
-- stream), below (cur_pos, cur_id) (the cursor, or the top of a time range) and at or above
-- pos_lo; the other
-- filters are checked on the path's rows (ledger_history_match). Each branch stops at lim rows.
WITH page AS (
    (SELECT t.id, t.from_pos AS pos FROM ledger_transactions t
     WHERE sqlc.arg(out_driver)::text = 'all' AND t.from_account_id = sqlc.arg(wallet_id)
       AND ledger_history_window(t.from_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.to_account_id, t.amount, CASE WHEN t.status = 'posted' THEN t.finalized_at ELSE t.created_at END,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.from_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
    UNION ALL
    (SELECT t.id, t.from_pos FROM ledger_transactions t
     WHERE sqlc.arg(out_driver)::text = 'kind' AND t.from_account_id = sqlc.arg(wallet_id) AND t.kind = sqlc.arg(kind)::text
       AND ledger_history_window(t.from_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.to_account_id, t.amount, CASE WHEN t.status = 'posted' THEN t.finalized_at ELSE t.created_at END,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.from_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
    UNION ALL
    (SELECT t.id, t.from_pos FROM ledger_transactions t
     WHERE sqlc.arg(out_driver)::text = 'status' AND t.from_account_id = sqlc.arg(wallet_id) AND t.status = sqlc.arg(status)::text AND t.status <> 'posted'
       AND ledger_history_window(t.from_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.to_account_id, t.amount, t.created_at,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.from_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
    UNION ALL
    (SELECT t.id, t.from_pos FROM ledger_transactions t
     WHERE sqlc.arg(out_driver)::text = 'other' AND t.from_account_id = sqlc.arg(wallet_id) AND t.to_account_id = sqlc.arg(other)::bigint
       AND ledger_history_window(t.from_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.to_account_id, t.amount, CASE WHEN t.status = 'posted' THEN t.finalized_at ELSE t.created_at END,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.from_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
    UNION ALL
    (SELECT t.id, t.to_pos FROM ledger_transactions t
     WHERE sqlc.arg(in_driver)::text = 'all' AND t.to_account_id = sqlc.arg(wallet_id) AND t.status = 'posted'
       AND ledger_history_window(t.to_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.from_account_id, t.amount, t.finalized_at,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.to_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
    UNION ALL
    (SELECT t.id, t.to_pos FROM ledger_transactions t
     WHERE sqlc.arg(in_driver)::text = 'kind' AND t.to_account_id = sqlc.arg(wallet_id) AND t.status = 'posted' AND t.kind = sqlc.arg(kind)::text
       AND ledger_history_window(t.to_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.from_account_id, t.amount, t.finalized_at,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.to_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
    UNION ALL
    (SELECT t.id, t.to_pos FROM ledger_transactions t
     WHERE sqlc.arg(in_driver)::text = 'other' AND t.to_account_id = sqlc.arg(wallet_id) AND t.status = 'posted' AND t.from_account_id = sqlc.arg(other)::bigint
       AND ledger_history_window(t.to_pos, t.id, sqlc.arg(cur_pos), sqlc.arg(cur_id), sqlc.arg(pos_lo))
       AND ledger_history_match(t.kind, t.status, t.from_account_id, t.amount, t.finalized_at,
           sqlc.arg(kind)::text, sqlc.arg(status)::text, sqlc.arg(other)::bigint, sqlc.arg(min_amount)::bigint, sqlc.arg(max_amount)::bigint, sqlc.arg(from_at)::timestamptz, sqlc.arg(to_at)::timestamptz)
     ORDER BY t.to_pos DESC, t.id DESC LIMIT sqlc.arg(lim))
)
SELECT p.pos::bigint AS pos, t.id, t.kind, t.status, t.currency, t.amount, t.from_account_id, t.to_account_id, t.failure_code,
       t.note, t.created_at, t.finalized_at, e.balance_after, cu.username AS counterparty
FROM page p
JOIN ledger_transactions t ON t.id = p.id
LEFT JOIN ledger_entries e ON p.pos % 2 = 0 AND e.account_id = sqlc.arg(wallet_id) AND e.version = p.pos / 2
LEFT JOIN ledger_accounts ca ON ca.kind = 'user' AND ca.id = CASE WHEN t.from_account_id = sqlc.arg(wallet_id) THEN t.to_account_id ELSE t.from_account_id END
LEFT JOIN users cu ON cu.id = ca.user_id
ORDER BY p.pos DESC, p.id DESC
LIMIT sqlc.arg(lim);

-- name: HistoryPositions :one
-- The positions of a wallet's history between two instants [from_at, to_at): every item at or
-- after from_at is above 2·v1 (v1: the last entry before from_at), every item before to_at at
-- or below 2·v2 + 1 (v2: the last entry before to_at). Exact for entries; an entry-less item
-- at an odd position lies between the entries around it in time, and its own instant is
-- checked on the row (instants never go back along the positions: migration 00044).
SELECT (2 * COALESCE((SELECT e.version FROM ledger_entries e WHERE e.account_id = sqlc.arg(wallet_id) AND e.created_at < sqlc.arg(from_at)::timestamptz
                      ORDER BY e.created_at DESC, e.version DESC LIMIT 1), 0) + 1)::bigint AS pos_lo,
       (2 * COALESCE((SELECT e.version FROM ledger_entries e WHERE e.account_id = sqlc.arg(wallet_id) AND e.created_at < sqlc.arg(to_at)::timestamptz
                      ORDER BY e.created_at DESC, e.version DESC LIMIT 1), 0) + 1)::bigint AS pos_hi;

-- name: GetWalletByUsername :one
-- The wallet in currency of the user named username (a history's counterparty).
SELECT a.id FROM users u JOIN ledger_accounts a ON a.user_id = u.id AND a.kind = 'user' AND a.currency = sqlc.arg(currency)
WHERE u.username = sqlc.arg(username)::text;

-- name: GetBalanceAt :one
-- A wallet's balance at an instant: the balance_after of its last entry at or before it (one
-- lookup), and the holds open at that instant (placed at or before it, settled or voided after
-- it or not yet): one lookup in the holds' span index.
SELECT COALESCE((SELECT e.balance_after FROM ledger_entries e WHERE e.account_id = sqlc.arg(wallet_id) AND e.created_at <= sqlc.arg(at)::timestamptz
                 ORDER BY e.created_at DESC, e.version DESC LIMIT 1), 0)::bigint AS balance,
       COALESCE((SELECT sum(t.amount) FROM ledger_transactions t
                 WHERE t.from_account_id = sqlc.arg(wallet_id) AND t.kind = 'withdrawal' AND t.status <> 'failed'
                   AND tstzrange(t.created_at, t.finalized_at, '[)') @> sqlc.arg(at)::timestamptz), 0)::bigint AS pending;

-- name: PlanHistoryInIndexOrder :exec
-- For the rest of the transaction: read a history page in index order. Given a narrow range of
-- positions (from/to) or a rare counterparty, the planner may otherwise fetch the whole range
-- and sort it (cost growing with the range, not the page); with sorts ruled out, each branch of
-- ListWalletHistory walks its index backwards and stops at the page. JIT off: the ruled-out
-- sorts inflate the estimates past jit_above_cost, and compiling would cost more than the read.
SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true);
