package compliance

// DecideSend is the ledger's send policy: money leaves an account only when the case its
// account type requires (KYC for personal, KYB for business) is approved and no restriction is
// active. It returns the refusal code ("ACCOUNT_RESTRICTED" before "KYC_REQUIRED": the stronger
// reason wins) or "" to allow. Its inputs are the sender's row of compliance_send_eligibility
// (migration 00033), which the ledger reads with the wallets; the account type has already chosen
// which case caseStatus is. Receiving is never checked here.
func (s *Compliance) DecideSend(_, caseStatus string, restricted bool) string {
	switch {
	case restricted:
		return ErrRestricted.Code
	case caseStatus != StatusApproved:
		return ErrKYCRequired.Code
	}
	return ""
}
