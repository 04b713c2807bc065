-- name: GetUserByID :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: GetUserByEmailForUpdate :one
SELECT * FROM users WHERE email = $1 FOR UPDATE;

-- name: GetUserByIDForUpdate :one
SELECT * FROM users WHERE id = $1 FOR UPDATE;

-- name: CreatePendingUser :one
-- Creates a pending user or returns the existing row untouched (ON CONFLICT keeps concurrent sends safe).
INSERT INTO users (email, locale) VALUES ($1, $2)
ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
RETURNING *;

-- name: SetUsername :exec
UPDATE users SET username = $2 WHERE id = $1 AND username IS NULL;

-- name: EnsureNotificationPreferences :exec
INSERT INTO notification_preferences (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING;

-- name: ActivateUser :one
UPDATE users
SET status = 'active', password_hash = sqlc.arg(password_hash), email_verified_at = COALESCE(email_verified_at, sqlc.arg(now)::timestamptz), updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND status = 'pending'
RETURNING *;

-- name: SetPasswordHash :exec
UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1;

-- name: SetUserStatus :one
UPDATE users SET status = $2, updated_at = $3 WHERE id = $1 RETURNING *;
