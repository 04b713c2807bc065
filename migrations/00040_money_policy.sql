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

-- Spending counters: what left a user wallet (transfers out, holds placed and not voided), per
-- hour (the rolling 24 h window is the last 24 hour buckets) and per calendar month (UTC). Updated
-- by the posting statement under the account's lock, so a limit is checked without reading
-- history and concurrent requests can never exceed it.
CREATE TABLE ledger_spending (
    account_id   bigint NOT NULL,
    period       text NOT NULL CHECK (period IN ('hour', 'month')),
    period_start timestamptz NOT NULL,
    amount       bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (account_id, period, period_start)
) WITH (fillfactor = 70);

-- +goose Down
DROP TABLE ledger_spending;
DROP INDEX ledger_transactions_external_ref;
DROP INDEX ledger_transactions_expiring;
ALTER TABLE ledger_transactions DROP COLUMN expires_at;
