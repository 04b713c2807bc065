-- +goose Up
-- Reversals (services/ledger/reversal.go): a compensating transaction of kind 'reversal' names
-- the posted transaction it moves back in reverses_id; the original row is never edited (what
-- was reversed is the sum of its posted reversals). The posting engine decides a reversal under
-- the locks of both accounts, so concurrent reversals never exceed the original's amount;
-- `ledger check` verifies it (CheckReversals).
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('transfer', 'deposit', 'withdrawal', 'reversal'));
ALTER TABLE ledger_transactions ADD COLUMN reverses_id bigint;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_reverses
    CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL));
-- The reversals of one transaction, read under the accounts' locks before each reversal.
CREATE INDEX ledger_transactions_reversals ON ledger_transactions (reverses_id, id) WHERE reverses_id IS NOT NULL;

-- The guard of 00010, with reverses_id among the columns that never change.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger_transactions is append-only' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status NOT IN ('posted', 'voided')
       OR (NEW.id, NEW.kind, NEW.currency, NEW.amount, NEW.from_account_id, NEW.to_account_id, NEW.idempotency_key,
           NEW.initiator_type, NEW.initiator_id, NEW.note, NEW.external_ref, NEW.created_at, NEW.reverses_id)
          IS DISTINCT FROM
          (OLD.id, OLD.kind, OLD.currency, OLD.amount, OLD.from_account_id, OLD.to_account_id, OLD.idempotency_key,
           OLD.initiator_type, OLD.initiator_id, OLD.note, OLD.external_ref, OLD.created_at, OLD.reverses_id) THEN
        RAISE EXCEPTION 'ledger transaction % cannot change this way', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- Statements (services/ledger/statement.go) read a wallet's entries by the instant they were
-- posted: the opening balance is the last entry before `from`, the movements the entries in
-- [from, to). Along one wallet those instants never go back in version order (the engine
-- stamps a batch no earlier than the last posting of any wallet it locks), so this index gives
-- both as one range of the wallet's entries, whatever the size of its history.
CREATE INDEX ledger_entries_account_time ON ledger_entries (account_id, created_at, version);
-- last_posted_at is the instant of the last batch that changed the account, written by the
-- posting statement with the account's head. A batch reads it with the lock (the row as the
-- previous batch committed it) and stamps its rows no earlier than its user wallets' (system
-- accounts, shared by every deposit, are left out).
ALTER TABLE ledger_accounts ADD COLUMN last_posted_at timestamptz;
UPDATE ledger_accounts a SET last_posted_at = e.last
FROM (SELECT account_id, max(created_at) AS last FROM ledger_entries GROUP BY account_id) e
WHERE e.account_id = a.id;

-- +goose Down
ALTER TABLE ledger_accounts DROP COLUMN last_posted_at;
DROP INDEX ledger_entries_account_time;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger_transactions is append-only' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status NOT IN ('posted', 'voided')
       OR (NEW.id, NEW.kind, NEW.currency, NEW.amount, NEW.from_account_id, NEW.to_account_id, NEW.idempotency_key,
           NEW.initiator_type, NEW.initiator_id, NEW.note, NEW.external_ref, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.kind, OLD.currency, OLD.amount, OLD.from_account_id, OLD.to_account_id, OLD.idempotency_key,
           OLD.initiator_type, OLD.initiator_id, OLD.note, OLD.external_ref, OLD.created_at) THEN
        RAISE EXCEPTION 'ledger transaction % cannot change this way', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
DROP INDEX ledger_transactions_reversals;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_reverses;
ALTER TABLE ledger_transactions DROP COLUMN reverses_id;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('transfer', 'deposit', 'withdrawal'));
