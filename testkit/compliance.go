package testkit

import "crypto/rand"

// ComplianceCase returns the id of the user's case of kind, put in status straight in the
// database (test set-up for a state the flow would take several steps to reach).
func (e *Env) ComplianceCase(userID int64, kind, status string) int64 {
	e.T.Helper()
	var id int64
	e.Scan(`
		INSERT INTO compliance_cases (user_id, kind, status, created_at, updated_at) VALUES ($1, $2, $3, now(), now())
		ON CONFLICT (user_id, kind) DO UPDATE SET status = EXCLUDED.status RETURNING id`, []any{userID, kind, status}, &id)
	return id
}

// CompleteKYC gives a case its personal data and one document row of each required kind (rows
// only: no object is stored).
func (e *Env) CompleteKYC(caseID int64) {
	e.T.Helper()
	e.ExecSQL(`INSERT INTO compliance_kyc_data (case_id, first_name, last_name, birth_date, nationality, country, address_line1, city, postal_code, updated_at)
		VALUES ($1, 'Ada', 'Lovelace', '1990-12-10', 'BEN', 'BJ', '1 rue X', 'Cotonou', '01BP1', now()) ON CONFLICT DO NOTHING`, caseID)
	for _, k := range []string{"identity_document", "proof_of_address", "selfie"} {
		e.ExecSQL(`INSERT INTO compliance_documents (case_id, kind, storage_key, sha256, mime_type, size_bytes, created_at)
			VALUES ($1, $2, $3, decode(repeat('ab', 32), 'hex'), 'application/pdf', 10, now())`, caseID, k, "test/"+rand.Text())
	}
}
