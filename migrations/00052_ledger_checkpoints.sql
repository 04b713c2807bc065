-- +goose Up
-- Verified checkpoints of `ledger check` (services/ledger/check.go, issue 21): what a clean check
-- verified, so that the next one reads only what came after. A checkpoint is written only by a
-- check that found nothing, in the same snapshot it verified.
--
-- ledger_checkpoints: one row per clean check (full or incremental), with the highest entry and
-- transaction ids its snapshot held: an incremental check re-reads every row above them (rows
-- written behind the engine's back included) besides what the accounts' heads point at.
CREATE TABLE ledger_checkpoints (
    id                   bigserial PRIMARY KEY,
    full_check           boolean NOT NULL,
    entries_through      bigint NOT NULL,
    transactions_through bigint NOT NULL,
    entries_checked      bigint NOT NULL,
    accounts_checked     bigint NOT NULL,
    started_at           timestamptz NOT NULL,
    duration_ms          bigint NOT NULL
);

-- ledger_checkpoint_heads: per account, the last verified place of its chain: version, running
-- balance, hash and instant of its entry `version` (null at version 0), and the head's pending
-- amount and history_at as they were then (an account whose head moved is re-read from here).
-- An incremental check continues each moved account's chain from this row, and checks on every
-- account that its entry `version` still carries `hash` (an old entry rewritten with its chain
-- recomputed changes it).
CREATE TABLE ledger_checkpoint_heads (
    account_id    bigint PRIMARY KEY,
    version       bigint NOT NULL,
    balance       bigint NOT NULL,
    hash          bytea NOT NULL,
    posted_at     timestamptz,
    pending       bigint NOT NULL,
    history_at    timestamptz,
    checkpoint_id bigint NOT NULL
);

-- +goose Down
DROP TABLE ledger_checkpoint_heads;
DROP TABLE ledger_checkpoints;
