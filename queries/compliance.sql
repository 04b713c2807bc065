-- name: EnsureComplianceCase :exec
-- Creates the (user, kind) case in not_started; a no-op when it exists.
INSERT INTO compliance_cases (user_id, kind, created_at, updated_at)
VALUES (sqlc.arg(user_id), sqlc.arg(kind), sqlc.arg(now)::timestamptz, sqlc.arg(now)::timestamptz)
ON CONFLICT (user_id, kind) DO NOTHING;

-- name: GetComplianceCaseForUpdate :one
SELECT * FROM compliance_cases WHERE user_id = $1 AND kind = $2 FOR UPDATE;

-- name: GetComplianceCaseByIDForUpdate :one
SELECT * FROM compliance_cases WHERE id = $1 FOR UPDATE;

-- name: GetComplianceCaseByID :one
SELECT c.*, u.account_type, u.status AS user_status
FROM compliance_cases c JOIN users u ON u.id = c.user_id
WHERE c.id = $1;

-- name: ListUserComplianceCases :many
SELECT * FROM compliance_cases WHERE user_id = $1 ORDER BY kind;

-- name: SetComplianceCaseStatus :one
UPDATE compliance_cases
SET status = sqlc.arg(status),
    decision_reason = sqlc.narg(decision_reason),
    submitted_at = CASE WHEN sqlc.arg(status) = 'submitted' THEN sqlc.arg(now)::timestamptz ELSE submitted_at END,
    decided_at = CASE WHEN sqlc.arg(status) IN ('approved', 'rejected', 'info_requested') THEN sqlc.arg(now)::timestamptz ELSE decided_at END,
    updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: InsertComplianceCaseHistory :exec
INSERT INTO compliance_case_history (case_id, from_status, to_status, actor_type, actor_id, reason, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: ListComplianceCaseHistory :many
SELECT * FROM compliance_case_history WHERE case_id = $1 ORDER BY id;

-- name: ListComplianceCasesByStatus :many
-- Keyset page of the review queue, oldest first (first come, first reviewed).
SELECT c.*, u.account_type
FROM compliance_cases c JOIN users u ON u.id = c.user_id
WHERE c.status = sqlc.arg(status) AND c.id > sqlc.arg(after_id)
ORDER BY c.id
LIMIT sqlc.arg(lim);

-- name: UpsertKYCData :exec
INSERT INTO compliance_kyc_data (case_id, first_name, last_name, birth_date, nationality, country, address_line1, address_line2, city, postal_code, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (case_id) DO UPDATE SET
    first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date,
    nationality = EXCLUDED.nationality, country = EXCLUDED.country, address_line1 = EXCLUDED.address_line1,
    address_line2 = EXCLUDED.address_line2, city = EXCLUDED.city, postal_code = EXCLUDED.postal_code,
    updated_at = EXCLUDED.updated_at;

-- name: GetKYCData :one
SELECT * FROM compliance_kyc_data WHERE case_id = $1;

-- name: UpsertKYBData :exec
INSERT INTO compliance_kyb_data (case_id, legal_name, registration_number, country, beneficial_owners, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (case_id) DO UPDATE SET
    legal_name = EXCLUDED.legal_name, registration_number = EXCLUDED.registration_number,
    country = EXCLUDED.country, beneficial_owners = EXCLUDED.beneficial_owners, updated_at = EXCLUDED.updated_at;

-- name: GetKYBData :one
SELECT * FROM compliance_kyb_data WHERE case_id = $1;

-- name: InsertComplianceDocument :one
INSERT INTO compliance_documents (case_id, kind, storage_key, sha256, mime_type, size_bytes, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: ListComplianceDocuments :many
SELECT * FROM compliance_documents WHERE case_id = $1 ORDER BY id;

-- name: SetUserAccountType :exec
UPDATE users SET account_type = $2, updated_at = $3 WHERE id = $1;

-- name: InsertRestriction :one
INSERT INTO compliance_restrictions (user_id, reason, created_by, created_at)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: LiftRestriction :one
UPDATE compliance_restrictions
SET lifted_at = sqlc.arg(now)::timestamptz, lifted_by = sqlc.arg(lifted_by), lift_reason = sqlc.arg(lift_reason)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND lifted_at IS NULL
RETURNING *;

-- name: ListActiveRestrictions :many
SELECT * FROM compliance_restrictions WHERE user_id = $1 AND lifted_at IS NULL ORDER BY id;

-- name: LockUserWalletsForClosure :many
-- Locks the user's wallets in id order with the ledger's own lock mode, so no movement can
-- change them between the emptiness check and their closure.
SELECT id, balance, pending, status, currency FROM ledger_accounts
WHERE user_id = $1 AND kind = 'user'
ORDER BY id
FOR NO KEY UPDATE;

-- name: CountUserOpenHolds :one
SELECT count(*) FROM ledger_transactions t JOIN ledger_accounts a ON a.id = t.from_account_id
WHERE a.user_id = $1 AND a.kind = 'user' AND t.kind = 'withdrawal' AND t.status = 'pending';

-- name: CloseUserWallets :execrows
UPDATE ledger_accounts SET status = 'closed', updated_at = $2
WHERE user_id = $1 AND kind = 'user' AND status <> 'closed';
