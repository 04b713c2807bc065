-- name: CreateInternalKey :one
INSERT INTO internal_keys (name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: GetInternalKeyByHash :one
SELECT id, name, scopes FROM internal_keys WHERE key_hash = $1 AND revoked_at IS NULL;
