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
