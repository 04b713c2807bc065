-- +goose Up
-- Keys of the internal operations API (X-Internal-Key). The key is shown once at creation;
-- only its SHA-256 is stored.
CREATE TABLE internal_keys (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    key_hash   bytea NOT NULL UNIQUE,
    scopes     text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- +goose Down
DROP TABLE internal_keys;
