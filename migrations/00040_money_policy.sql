-- +goose Up
-- Money rules by construction (services/ledger/policy.go).

-- Holds expire: a pending withdrawal past expires_at is voided by the expiry worker and can no
-- longer be settled. NULL only for holds placed before this migration (they never expire).
ALTER TABLE ledger_transactions ADD COLUMN expires_at timestamptz;
CREATE INDEX ledger_transactions_expiring ON ledger_transactions (expires_at)
    WHERE kind = 'withdrawal' AND status = 'pending';

-- A bank reference is credited (deposit) or paid out (withdrawal) once per currency. Failed
-- attempts and voided holds do not use it up. The engine serializes requests per reference with
-- an advisory lock and answers DUPLICATE_EXTERNAL_REFERENCE; this index is the last line of defence.
CREATE UNIQUE INDEX ledger_transactions_external_ref ON ledger_transactions (kind, currency, external_ref)
    WHERE external_ref IS NOT NULL AND kind IN ('deposit', 'withdrawal') AND status IN ('posted', 'pending');

-- Spending counters, on the account row that every movement already locks and rewrites (no
-- extra row per movement, no read of history): what left a user wallet (transfers out, holds
-- placed and not voided) per hour of the last 24 — spend_hours packs, for each hour with spending
-- still in the window (at most 24), the hour since the epoch (4 bytes) and the amount (8 bytes),
-- big-endian: a few bytes, sent and stored in binary (services/ledger/spending.go) — and in the calendar
-- month (UTC) that starts at spend_month_start. Only the posting statement writes them, under the lock.
ALTER TABLE ledger_accounts
    ADD COLUMN spend_hours bytea NOT NULL DEFAULT '',
    ADD COLUMN spend_month bigint NOT NULL DEFAULT 0 CHECK (spend_month >= 0),
    ADD COLUMN spend_month_start timestamptz;

-- +goose Down
ALTER TABLE ledger_accounts DROP COLUMN spend_hours, DROP COLUMN spend_month, DROP COLUMN spend_month_start;
DROP INDEX ledger_transactions_external_ref;
DROP INDEX ledger_transactions_expiring;
ALTER TABLE ledger_transactions DROP COLUMN expires_at;
