-- +goose Up
-- What the compliance send policy decides on, as a view owned by compliance: the ledger reads it
-- in the same statement as the sender's and recipient's wallets (one round trip per transfer
-- before queueing), and compliance alone says what the columns mean (services/compliance).
CREATE VIEW compliance_send_eligibility AS
SELECT u.id AS user_id,
       u.account_type,
       COALESCE((SELECT c.status FROM compliance_cases c
                 WHERE c.user_id = u.id AND c.kind = CASE WHEN u.account_type = 'business' THEN 'kyb' ELSE 'kyc' END),
                'not_started') AS case_status,
       EXISTS (SELECT 1 FROM compliance_restrictions r WHERE r.user_id = u.id AND r.lifted_at IS NULL) AS restricted
FROM users u;

-- +goose Down
DROP VIEW compliance_send_eligibility;
