-- +goose Up
-- Wallet history in posting order, filtered history, balances at any instant (issue 19).
--
-- Each transaction gets its place in the history of its source account (from_pos) and, once
-- posted, of its destination account (to_pos): 2·v when it has that account's entry of version
-- v, 2·v + 1 when it has none there (a failed attempt, a pending or voided hold), v being the
-- account's version when it was recorded. The per-account entry version is the posting order,
-- so a history read in position order has each balance_after follow from the one before.
-- Entry-less transactions recorded at one version share its odd position (ordered by id).
ALTER TABLE ledger_transactions ADD COLUMN from_pos bigint, ADD COLUMN to_pos bigint;

-- The instant of the latest item of each account's history (its creation before any): the
-- engine never records an item in a wallet's history before it (services/ledger historyClock:
-- the batch's clock is clamped to it under the wallet's lock), so along a wallet's positions the
-- instants never go back and a time range is a range of positions. `ledger check` verifies it.
ALTER TABLE ledger_accounts ADD COLUMN history_at timestamptz;

-- Existing rows. Transactions are append-only (their guard trigger): it is set aside for this
-- one backfill, inside this migration's transaction.
ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_guard;
UPDATE ledger_transactions t SET
    from_pos = CASE WHEN t.status = 'posted'
        THEN 2 * (SELECT e.version FROM ledger_entries e WHERE e.transaction_id = t.id AND e.account_id = t.from_account_id)
        ELSE 2 * COALESCE((SELECT max(e.version) FROM ledger_entries e
                           WHERE e.account_id = t.from_account_id AND e.created_at <= t.created_at), 0) + 1 END,
    to_pos = CASE WHEN t.status = 'posted'
        THEN 2 * (SELECT e.version FROM ledger_entries e WHERE e.transaction_id = t.id AND e.account_id = t.to_account_id) END
WHERE t.from_account_id IS NOT NULL;
ALTER TABLE ledger_transactions ENABLE TRIGGER ledger_transactions_guard;
UPDATE ledger_accounts a SET history_at = GREATEST(a.created_at,
    (SELECT max(e.created_at) FROM ledger_entries e WHERE e.account_id = a.id),
    (SELECT max(t.created_at) FROM ledger_transactions t WHERE t.from_account_id = a.id));

-- Only a pending hold may change, and only its status (to posted or voided), finalized_at and,
-- when it is settled (posted), its positions: it moves to the place of its settlement. Every
-- other column is frozen by name-free comparison, so a column added later is frozen too.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    free CONSTANT text[] := ARRAY['status', 'finalized_at', 'from_pos', 'to_pos'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger_transactions is append-only' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status NOT IN ('posted', 'voided')
       OR (to_jsonb(NEW) - free) IS DISTINCT FROM (to_jsonb(OLD) - free)
       OR (NEW.status = 'voided' AND (to_jsonb(NEW) -> 'from_pos', to_jsonb(NEW) -> 'to_pos')
                                     IS DISTINCT FROM (to_jsonb(OLD) -> 'from_pos', to_jsonb(OLD) -> 'to_pos')) THEN
        RAISE EXCEPTION 'ledger transaction % cannot change this way', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- One index path per way of reading a wallet's history, each ending in the position, so that a
-- keyset page is one range of one index whatever the history's size. A wallet's history is two
-- streams: what left it (out: every transaction from it) and what reached it (in: posted ones).
-- The direction filter picks a stream; kind, status and counterparty have their own indexes;
-- from/to become a range of positions (ledger_entries_account_time below); amounts are checked
-- on the rows of whichever path is taken.
DROP INDEX ledger_transactions_from;
DROP INDEX ledger_transactions_to;
CREATE INDEX ledger_transactions_out ON ledger_transactions (from_account_id, from_pos, id);
CREATE INDEX ledger_transactions_in ON ledger_transactions (to_account_id, to_pos, id) WHERE status = 'posted';
CREATE INDEX ledger_transactions_out_kind ON ledger_transactions (from_account_id, kind, from_pos, id);
CREATE INDEX ledger_transactions_in_kind ON ledger_transactions (to_account_id, kind, to_pos, id) WHERE status = 'posted';
CREATE INDEX ledger_transactions_out_status ON ledger_transactions (from_account_id, status, from_pos, id) WHERE status <> 'posted';
CREATE INDEX ledger_transactions_out_other ON ledger_transactions (from_account_id, to_account_id, from_pos, id);
CREATE INDEX ledger_transactions_in_other ON ledger_transactions (to_account_id, from_account_id, to_pos, id) WHERE status = 'posted';

-- The filters of a history page that no index path of the page decides (the path decides one of
-- them; the others are checked on its rows). '' and 0 stand for "not given". Inlined by the
-- planner (one SQL expression), so it costs what the expression costs.
CREATE FUNCTION ledger_history_match(kind text, status text, other bigint, amount bigint, at timestamptz,
    want_kind text, want_status text, want_other bigint, min_amount bigint, max_amount bigint,
    from_at timestamptz, to_at timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (want_kind = '' OR kind = want_kind) AND (want_status = '' OR status = want_status)
    AND (want_other = 0 OR other = want_other) AND amount BETWEEN min_amount AND max_amount
    AND at >= from_at AND at < to_at;

-- The keyset window of a history page: below (cur_pos, cur_id), at or above pos_lo. The upper
-- bound is one row comparison (the caller folds the top of a time range into it): a backward
-- index scan starts at it, where a second, scalar bound would be checked on every row above.
-- Inlined: both stay index conditions.
CREATE FUNCTION ledger_history_window(pos bigint, id bigint, cur_pos bigint, cur_id bigint, pos_lo bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (pos, id) < (cur_pos, cur_id) AND pos >= pos_lo;

-- Balance at an instant: the last entry at or before it, one lookup (entries carry balance_after).
-- Also turns a history's from/to into positions.
CREATE INDEX ledger_entries_account_time ON ledger_entries (account_id, created_at, version) INCLUDE (balance_after);

-- Holds open at an instant (available balance at that instant): a hold is open from its
-- placement until it is settled or voided, [created_at, finalized_at).
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX ledger_transactions_hold_span ON ledger_transactions
    USING gist (from_account_id, tstzrange(created_at, finalized_at, '[)')) WHERE kind = 'withdrawal' AND status <> 'failed';

-- +goose Down
DROP FUNCTION ledger_history_match;
DROP FUNCTION ledger_history_window;
DROP INDEX ledger_transactions_hold_span;
DROP INDEX ledger_entries_account_time;
DROP INDEX ledger_transactions_in_other;
DROP INDEX ledger_transactions_out_other;
DROP INDEX ledger_transactions_out_status;
DROP INDEX ledger_transactions_in_kind;
DROP INDEX ledger_transactions_out_kind;
DROP INDEX ledger_transactions_in;
DROP INDEX ledger_transactions_out;
CREATE INDEX ledger_transactions_from ON ledger_transactions (from_account_id, id DESC);
CREATE INDEX ledger_transactions_to ON ledger_transactions (to_account_id, id DESC) WHERE status = 'posted';
-- The guard of the Up section stays: it names no column, so it works without the positions.
ALTER TABLE ledger_accounts DROP COLUMN history_at;
ALTER TABLE ledger_transactions DROP COLUMN from_pos, DROP COLUMN to_pos;
