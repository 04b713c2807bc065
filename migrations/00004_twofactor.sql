-- +goose Up
-- Replay protection: the last TOTP time step (unix time / 30 s) accepted for the user. A step is
-- claimed with a conditional UPDATE (… AND twofa_last_step < $step), so of two requests carrying
-- the same code exactly one wins, whatever the use (enable, verify-login, step-up, disable, reset).
ALTER TABLE users ADD COLUMN twofa_last_step bigint;

-- Single-use recovery codes, shown once at enable. Only HMAC-SHA256(server key, user id + code)
-- is stored; a code is spent by setting used_at (kept for the audit trail until 2FA is disabled).
CREATE TABLE twofa_recovery_codes (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE UNIQUE INDEX twofa_recovery_codes_hash ON twofa_recovery_codes (user_id, code_hash);

-- +goose Down
DROP TABLE twofa_recovery_codes;
ALTER TABLE users DROP COLUMN twofa_last_step;
