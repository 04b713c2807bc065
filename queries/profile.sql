-- name: UpdateUserProfile :one
-- Writes every editable profile field at once; the service merges omitted fields from the locked row.
UPDATE users
SET first_name = sqlc.narg(first_name), last_name = sqlc.narg(last_name), birth_date = sqlc.narg(birth_date),
    country = sqlc.narg(country), nationality = sqlc.narg(nationality), phone_number = sqlc.narg(phone_number),
    locale = sqlc.arg(locale), updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: SetUserPhotoKey :one
-- Swaps the photo key; the caller holds the row lock (GetUserByIDForUpdate) and deletes the old object after commit.
UPDATE users SET photo_key = sqlc.arg(photo_key), updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING updated_at;
