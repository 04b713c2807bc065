-- Privacy (services/privacy): the personal data export and the erasure after closure ----------

-- name: ExportNotificationPreferences :many
SELECT email_enabled, inapp_enabled, push_enabled, created_at FROM notification_preferences WHERE user_id = $1;

-- name: ExportSessions :many
-- Every token ever issued, without its secret hash.
SELECT id, device_id, device_type, device_name, country, ip, user_agent, created_at, last_used_at, expires_at, revoked_at
FROM access_tokens WHERE user_id = $1 ORDER BY id;

-- name: ExportKnownDevices :many
SELECT device_id, first_seen FROM known_devices WHERE user_id = $1 ORDER BY first_seen, device_id;

-- name: ExportEmailCodes :many
-- Registration and reset codes: when and how often, never the code's MAC.
SELECT purpose, attempts, created_at, expires_at FROM email_otps WHERE user_id = $1 ORDER BY created_at, purpose;

-- name: ExportMagicLinks :many
SELECT id, created_at, expires_at, used_at FROM magic_links WHERE user_id = $1 ORDER BY id;

-- name: ExportRecoveryCodes :many
SELECT id, created_at, used_at FROM twofa_recovery_codes WHERE user_id = $1 ORDER BY id;

-- name: ExportAuditEvents :many
SELECT id, occurred_at, actor_type, actor_id, action, subject_type, subject_id, ip, user_agent, request_id, details
FROM audit_events WHERE user_id = $1 ORDER BY id;

-- name: ExportWallets :many
SELECT id, currency, status, balance, pending, created_at, updated_at
FROM ledger_accounts WHERE user_id = $1 ORDER BY id;

-- name: ExportWalletTransactions :many
-- Every transaction one of the user's wallets took part in, either side, any status.
SELECT t.id, t.kind, t.status, t.currency, t.amount, t.from_account_id, t.to_account_id, t.failure_code,
       t.initiator_type, t.note, t.external_ref, t.created_at, t.finalized_at
FROM ledger_transactions t
WHERE t.from_account_id IN (SELECT a.id FROM ledger_accounts a WHERE a.user_id = $1)
   OR t.to_account_id IN (SELECT a.id FROM ledger_accounts a WHERE a.user_id = $1)
ORDER BY t.id;

-- name: ExportWalletEntries :many
SELECT e.id, e.transaction_id, e.account_id, e.amount, e.balance_after, e.version, e.created_at
FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
WHERE a.user_id = $1 ORDER BY e.account_id, e.version;

-- name: ExportComplianceCases :many
SELECT id, kind, status, decision_reason, submitted_at, decided_at, created_at, updated_at
FROM compliance_cases WHERE user_id = $1 ORDER BY id;

-- name: ExportCaseHistory :many
SELECT h.id, h.case_id, h.from_status, h.to_status, h.actor_type, h.reason, h.occurred_at
FROM compliance_case_history h JOIN compliance_cases c ON c.id = h.case_id
WHERE c.user_id = $1 ORDER BY h.id;

-- name: ExportKYCData :many
SELECT d.* FROM compliance_kyc_data d JOIN compliance_cases c ON c.id = d.case_id WHERE c.user_id = $1 ORDER BY d.case_id;

-- name: ExportKYBData :many
SELECT d.* FROM compliance_kyb_data d JOIN compliance_cases c ON c.id = d.case_id WHERE c.user_id = $1 ORDER BY d.case_id;

-- name: ExportDocuments :many
SELECT d.* FROM compliance_documents d JOIN compliance_cases c ON c.id = d.case_id WHERE c.user_id = $1 ORDER BY d.id;

-- name: ExportRestrictions :many
SELECT id, reason, created_at, lifted_at, lift_reason FROM compliance_restrictions WHERE user_id = $1 ORDER BY id;

-- name: ExportTwofaResets :many
SELECT id, status, requested_by, request_reason, requested_at, expires_at, approved_by, approval_reason, approved_at
FROM support_twofa_resets WHERE user_id = $1 ORDER BY id;

-- name: ExportEvents :many
SELECT id, type, occurred_at, subject_type, subject_id, data FROM events WHERE user_id = $1 ORDER BY id;

-- name: ExportMail :many
-- E-mails sent to the user's address (the bodies are wiped once sent).
SELECT id, template, locale, subject, status, created_at, sent_at FROM mail_outbox WHERE to_address = $1 ORDER BY id;

-- name: CountErasures :one
-- Closed accounts not yet erased: still within the retention, and due (past it).
SELECT count(*) FILTER (WHERE closed_at > sqlc.arg(cutoff)::timestamptz)  AS retained,
       count(*) FILTER (WHERE closed_at <= sqlc.arg(cutoff)::timestamptz) AS due
FROM users WHERE status = 'closed' AND erased_at IS NULL;

-- name: LockDueErasure :one
-- One closed account past the retention, locked; another instance's worker skips it.
SELECT * FROM users
WHERE status = 'closed' AND erased_at IS NULL AND closed_at <= sqlc.arg(cutoff)::timestamptz
ORDER BY closed_at, id LIMIT 1 FOR UPDATE SKIP LOCKED;

-- name: EraseUser :exec
-- The profile pseudonymized: the e-mail becomes the pseudonym (privacy.Pseudonym), every
-- other personal field and every credential goes. The id and the username (fx + id) stay: the
-- ledger and the audit log refer to them.
UPDATE users
SET email = sqlc.arg(pseudonym), password_hash = NULL, first_name = NULL, last_name = NULL,
    birth_date = NULL, country = NULL, nationality = NULL, phone_number = NULL, photo_key = NULL,
    twofa_enabled = false, twofa_secret_enc = NULL, twofa_enabled_at = NULL, twofa_last_step = NULL,
    erased_at = sqlc.arg(now)::timestamptz, updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id);

-- name: EraseSessions :exec
UPDATE access_tokens
SET device_name = NULL, country = NULL, ip = NULL, user_agent = NULL, revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE user_id = sqlc.arg(user_id);

-- name: EraseCredentials :exec
-- Devices, e-mailed codes, magic links and recovery codes: nothing is left to keep.
WITH d AS (DELETE FROM known_devices WHERE known_devices.user_id = $1),
     o AS (DELETE FROM email_otps WHERE email_otps.user_id = $1),
     m AS (DELETE FROM magic_links WHERE magic_links.user_id = $1)
DELETE FROM twofa_recovery_codes WHERE twofa_recovery_codes.user_id = $1;

-- name: EraseMail :exec
-- Outbox rows addressed to the old e-mail: the address replaced, any body left wiped, a pending one failed.
UPDATE mail_outbox
SET to_address = sqlc.arg(pseudonym), body_enc = NULL,
    status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
    last_error = CASE WHEN status = 'pending' THEN 'recipient erased' ELSE last_error END
WHERE to_address = sqlc.arg(email);

-- name: EraseComplianceDocuments :many
-- The documents' rows go; the caller queues their objects' deletion in the same transaction.
DELETE FROM compliance_documents d USING compliance_cases c
WHERE c.id = d.case_id AND c.user_id = $1
RETURNING d.storage_key;

-- name: EraseComplianceData :exec
WITH k AS (DELETE FROM compliance_kyc_data d USING compliance_cases c WHERE c.id = d.case_id AND c.user_id = $1),
     b AS (DELETE FROM compliance_kyb_data d USING compliance_cases c WHERE c.id = d.case_id AND c.user_id = $1),
     r AS (UPDATE compliance_restrictions SET reason = '[erased]', lift_reason = NULL WHERE compliance_restrictions.user_id = $1),
     t AS (UPDATE support_twofa_resets SET request_reason = '[erased]', approval_reason = CASE WHEN approval_reason IS NULL THEN NULL ELSE '[erased]' END
           WHERE support_twofa_resets.user_id = $1)
UPDATE compliance_cases SET decision_reason = NULL WHERE compliance_cases.user_id = $1;
