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
