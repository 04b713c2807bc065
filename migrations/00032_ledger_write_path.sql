-- +goose Up
-- The posting statement is the ledger's hot path (DESIGN §5); this migration makes it lighter
-- without weakening what is guaranteed.
--
-- Foreign keys from entries and transactions to accounts and transactions are dropped: each one
-- ran a trigger query per inserted row and, for entries, took a KEY SHARE lock (one more WAL
-- record) on the transaction row the same statement had just inserted. They guarded nothing the
-- writer does not already guarantee: the only writer is the posting statement, which inserts an
-- entry only for an account it holds locked (accounts are never deleted) and in the same
-- statement as its transaction. `ledger check` verifies that no entry or transaction points at
-- a missing row (CheckOrphans), so the guarantee is still checked, just not on every insert.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_transaction_id_fkey,
                           DROP CONSTRAINT ledger_entries_account_id_fkey;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_from_account_id_fkey,
                                DROP CONSTRAINT ledger_transactions_to_account_id_fkey;
-- Accounts never lose a row: refuse deletes outright, so the dropped foreign keys cannot be
-- missed through that path.
-- +goose StatementBegin
CREATE FUNCTION ledger_accounts_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_accounts rows are never deleted (close the wallet instead)' USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_no_delete();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_no_delete();

-- Account heads are updated by every posting; leaving free space on each page lets those
-- updates stay heap-only (HOT: no new index entries, no index bloat).
ALTER TABLE ledger_accounts SET (fillfactor = 70);

-- +goose Down
ALTER TABLE ledger_accounts RESET (fillfactor);
DROP TRIGGER ledger_accounts_no_truncate ON ledger_accounts;
DROP TRIGGER ledger_accounts_no_delete ON ledger_accounts;
DROP FUNCTION ledger_accounts_no_delete();
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_from_account_id_fkey FOREIGN KEY (from_account_id) REFERENCES ledger_accounts (id),
                                ADD CONSTRAINT ledger_transactions_to_account_id_fkey FOREIGN KEY (to_account_id) REFERENCES ledger_accounts (id);
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES ledger_transactions (id),
                           ADD CONSTRAINT ledger_entries_account_id_fkey FOREIGN KEY (account_id) REFERENCES ledger_accounts (id);
