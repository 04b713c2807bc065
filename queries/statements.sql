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
