-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;

-- Users: the documented profile fields and explicit states (pending → active; blocked; closed).
CREATE TABLE users (
    id                bigserial PRIMARY KEY,
    email             citext NOT NULL UNIQUE,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'blocked', 'closed')),
    locale            text NOT NULL DEFAULT 'fr' CHECK (locale IN ('fr', 'en')),
    username          text UNIQUE,
    password_hash     text,
    email_verified_at timestamptz,
    first_name        text,
    last_name         text,
    birth_date        date,
    country           text,
    nationality       text,
    phone_number      text,
    photo_key         text,
    twofa_enabled     boolean NOT NULL DEFAULT false,
    twofa_secret_enc  bytea,
    twofa_enabled_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Notification preferences, auto-created at registration.
CREATE TABLE notification_preferences (
    user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_enabled boolean NOT NULL DEFAULT true,
    inapp_enabled boolean NOT NULL DEFAULT true,
    push_enabled  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Personal access tokens: `<id>|<secret>` shown once; only SHA-256(secret) is kept.
-- One live token per (user, device): a partial unique index is the last guard.
CREATE TABLE access_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash  bytea NOT NULL,
    device_id    text,
    device_type  text,
    device_name  text,
    country      text,
    ip           text,
    user_agent   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX access_tokens_one_per_device ON access_tokens (user_id, device_id)
    WHERE revoked_at IS NULL AND device_id IS NOT NULL;
CREATE INDEX access_tokens_user ON access_tokens (user_id) WHERE revoked_at IS NULL;

-- Devices ever seen per user (for the new-device notification).
CREATE TABLE known_devices (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id  text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, device_id)
);

-- Audit log: append-only, written in the same transaction as the change it records.
-- seq/prev_hash/hash are filled by the background sealer (hash chain).
CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL,
    actor_id    text,
    action      text NOT NULL,
    subject_type text,
    subject_id  text,
    user_id     bigint,
    ip          text,
    user_agent  text,
    request_id  text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    seq         bigint UNIQUE,
    prev_hash   bytea,
    hash        bytea,
    sealed_at   timestamptz
);
CREATE INDEX audit_events_user ON audit_events (user_id, id DESC);
CREATE INDEX audit_events_unsealed ON audit_events (id) WHERE seq IS NULL;

-- Transactional e-mail outbox: rendered in the request's locale, written in the same transaction
-- as what it announces, sent by a worker with retries. Bodies are encrypted at rest and wiped after sending.
CREATE TABLE mail_outbox (
    id            bigserial PRIMARY KEY,
    to_address    text NOT NULL,
    template      text NOT NULL,
    locale        text NOT NULL,
    subject       text NOT NULL,
    body_enc      bytea,          -- AES-256-GCM of {text, html}: bodies carry codes and links; wiped once sent
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts      int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE mail_outbox;
DROP TABLE audit_events;
DROP TABLE known_devices;
DROP TABLE access_tokens;
DROP TABLE notification_preferences;
DROP TABLE users;
