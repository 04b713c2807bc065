-- Ledger invariants (DESIGN §5). Each query returns the violations it finds; none is a clean ledger.

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

-- name: ListEntriesForChain :many
-- Entries of accounts after after_account, in chain order, for the hash-chain walk (paged by account).
SELECT e.account_id, e.transaction_id, e.amount, e.balance_after, e.version, e.prev_hash, e.hash, e.created_at
FROM ledger_entries e
WHERE e.account_id > sqlc.arg(after_account) AND e.account_id <= sqlc.arg(to_account)
ORDER BY e.account_id, e.version;

-- name: ListAccountHeads :many
SELECT id, balance, version, last_hash FROM ledger_accounts ORDER BY id;

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

-- name: CheckHistoryPositions :many
-- Every transaction's place in its accounts' histories (migration 00044): a posted one at 2·v of
-- its entry on each side, finalized at its entries' instant; any other at an odd place 2·v + 1
-- of its source only. In a wallet's history (system accounts have no listed history) an
-- entry-less item is recorded between the instants of the entries v and v + 1, and along the
-- versions the entries' instants never go back.
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
  AND (t.created_at < lo.created_at OR t.created_at > hi.created_at OR (t.from_pos / 2 > 0 AND lo.id IS NULL))
UNION ALL
SELECT x.transaction_id, 'entry instant'
FROM (SELECT e.transaction_id, e.created_at, lag(e.created_at) OVER (PARTITION BY e.account_id ORDER BY e.version) AS prev
      FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'user') x
WHERE x.created_at < x.prev;
