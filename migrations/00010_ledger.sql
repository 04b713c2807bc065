-- +goose Up
-- Double-entry ledger (DESIGN §5). Amounts are int64 minor units of the account's ISO-4217 currency.

-- Accounts: user wallets (one per user and currency) and per-currency system accounts
-- (settlement: money entering or leaving the platform; fees). The balance kept on the row always
-- equals the sum of the account's entries; `pending` is the sum of its open withdrawal holds;
-- `version` and `last_hash` are the head of the account's gap-free, hash-chained entry sequence.
CREATE TABLE ledger_accounts (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('user', 'settlement', 'fees')),
    user_id    bigint REFERENCES users (id),
    currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    balance    bigint NOT NULL DEFAULT 0,
    pending    bigint NOT NULL DEFAULT 0 CHECK (pending >= 0),
    version    bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    last_hash  bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'user') = (user_id IS NOT NULL)),
    -- The last line of defence: a user wallet never goes below zero, holds included.
    CONSTRAINT ledger_accounts_user_not_negative CHECK (kind <> 'user' OR (balance >= 0 AND balance - pending >= 0))
);
CREATE UNIQUE INDEX ledger_accounts_user_currency ON ledger_accounts (user_id, currency) WHERE kind = 'user';
CREATE UNIQUE INDEX ledger_accounts_system_currency ON ledger_accounts (kind, currency) WHERE kind <> 'user';

-- Transactions: every attempted money movement, including business rejections (status failed,
-- with their code) so the history shows what was attempted. Withdrawals are holds: pending, then
-- posted (settled) or voided.
CREATE TABLE ledger_transactions (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('transfer', 'deposit', 'withdrawal')),
    status          text NOT NULL CHECK (status IN ('pending', 'posted', 'failed', 'voided')),
    currency        text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    from_account_id bigint REFERENCES ledger_accounts (id),
    to_account_id   bigint REFERENCES ledger_accounts (id),
    failure_code    text,
    idempotency_key text,
    initiator_type  text NOT NULL CHECK (initiator_type IN ('user', 'internal_key')),
    initiator_id    text NOT NULL,
    note            text,
    external_ref    text,
    created_at      timestamptz NOT NULL,
    finalized_at    timestamptz,
    CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
CREATE INDEX ledger_transactions_from ON ledger_transactions (from_account_id, id DESC);
CREATE INDEX ledger_transactions_to ON ledger_transactions (to_account_id, id DESC) WHERE status = 'posted';
CREATE INDEX ledger_transactions_open_holds ON ledger_transactions (from_account_id) WHERE kind = 'withdrawal' AND status = 'pending';

-- Only a pending hold may change, and only its status (to posted or voided) and finalized_at.
-- +goose StatementBegin
CREATE FUNCTION ledger_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER ledger_transactions_guard BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_transactions_guard();

-- Entries: append-only. Each carries the account's running balance, a gap-free per-account version
-- (the unique index is the guard) and a per-account SHA-256 chain (prev_hash → hash).
CREATE TABLE ledger_entries (
    id             bigserial PRIMARY KEY,
    transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
    account_id     bigint NOT NULL REFERENCES ledger_accounts (id),
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_after  bigint NOT NULL,
    version        bigint NOT NULL CHECK (version > 0),
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_account_version ON ledger_entries (account_id, version);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- +goose StatementBegin
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only' USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();

-- Idempotency records of money-moving POSTs, written in the same transaction as the outcome they
-- store (business rejections included). (caller, key) is unique: the last guard against a double
-- posting. Records live 24 h; an expired one may be replaced.
CREATE TABLE idempotency_keys (
    caller          text NOT NULL,
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    response_status int NOT NULL,
    response_code   text NOT NULL,
    response_data   jsonb NOT NULL,
    transaction_id  bigint,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP FUNCTION ledger_entries_append_only();
DROP TABLE ledger_transactions;
DROP FUNCTION ledger_transactions_guard();
DROP TABLE ledger_accounts;
