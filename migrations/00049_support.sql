-- +goose Up
-- Internal keys get a life cycle (services/identity/internalkeys): an optional expiry, the last
-- use (written at most once a minute), and rotation: the row keeps its id, name and scopes, the
-- new hash replaces key_hash and the old one stays valid as previous_key_hash until
-- previous_expires_at (INTERNAL_KEY_ROTATION_OVERLAP).
ALTER TABLE internal_keys
    ADD COLUMN expires_at          timestamptz,
    ADD COLUMN last_used_at        timestamptz,
    ADD COLUMN rotated_at          timestamptz,
    ADD COLUMN previous_key_hash   bytea UNIQUE,
    ADD COLUMN previous_expires_at timestamptz,
    ADD CONSTRAINT internal_keys_previous CHECK ((previous_key_hash IS NULL) = (previous_expires_at IS NULL));

-- Two-factor resets requested by support (services/support), four eyes: one internal key asks,
-- a different one approves within SUPPORT_APPROVAL_WINDOW (expires_at); only then is 2FA reset.
--   pending   waiting for the second key;  approved  2FA reset, sessions revoked, user e-mailed
--   expired   not approved in time (set when it is next looked at)
CREATE TABLE support_twofa_resets (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'expired')),
    requested_by_key bigint NOT NULL REFERENCES internal_keys (id),
    requested_by     text NOT NULL,
    request_reason   text NOT NULL,
    requested_at     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    approved_by_key  bigint REFERENCES internal_keys (id),
    approved_by      text,
    approval_reason  text,
    approved_at      timestamptz,
    CHECK (approved_by_key IS DISTINCT FROM requested_by_key)
);
-- At most one open request per user.
CREATE UNIQUE INDEX support_twofa_resets_open ON support_twofa_resets (user_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE support_twofa_resets;
ALTER TABLE internal_keys
    DROP CONSTRAINT internal_keys_previous,
    DROP COLUMN previous_expires_at,
    DROP COLUMN previous_key_hash,
    DROP COLUMN rotated_at,
    DROP COLUMN last_used_at,
    DROP COLUMN expires_at;
