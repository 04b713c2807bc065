-- +goose Up
-- Reversals (services/ledger/reversal.go): a compensating transaction of kind 'reversal' names
-- the posted transaction it moves back in reverses_id; the original row is never edited (what
-- was reversed is the sum of its posted reversals). The posting engine decides a reversal under
-- the locks of both accounts, so concurrent reversals never exceed the original's amount;
-- `ledger check` verifies it (CheckReversals). The transactions' guard (00044) freezes every
-- column it does not name, reverses_id with them.
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('transfer', 'deposit', 'withdrawal', 'reversal'));
ALTER TABLE ledger_transactions ADD COLUMN reverses_id bigint;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_reverses
    CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL));
-- The reversals of one transaction, read under the accounts' locks before each reversal.
CREATE INDEX ledger_transactions_reversals ON ledger_transactions (reverses_id, id) WHERE reverses_id IS NOT NULL;
-- Statements (services/ledger/statement.go) read a wallet's entries by the instant they were
-- posted through ledger_entries_account_time (00044): along one wallet those instants never go
-- back in version order (the batch clock is clamped to the wallet's history_at).

-- +goose Down
DROP INDEX ledger_transactions_reversals;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_reverses;
ALTER TABLE ledger_transactions DROP COLUMN reverses_id;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('transfer', 'deposit', 'withdrawal'));
