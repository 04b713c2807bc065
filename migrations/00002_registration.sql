-- +goose Up
-- One-time codes e-mailed for registration and password reset. Only an HMAC of the code is kept;
-- expiry is enforced in SQL (every lookup compares expires_at with the service clock). One live
-- code per (user, purpose): sending again replaces it.
CREATE TABLE email_otps (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('register', 'password_reset')),
    code_mac   bytea NOT NULL,
    attempts   int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, purpose)
);
CREATE INDEX email_otps_expires ON email_otps (expires_at);

-- Registration magic links: the e-mailed token is 64 random characters; only its SHA-256 hex is
-- kept. Single use (used_at), expiring, consumed only by the set-password POST.
CREATE TABLE magic_links (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX magic_links_user ON magic_links (user_id) WHERE used_at IS NULL;

-- +goose Down
DROP TABLE magic_links;
DROP TABLE email_otps;
