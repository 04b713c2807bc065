package compliance

import (
	"context"
	"fmt"
)

// CheckSend is the ledger's send policy: money leaves an account only when the case its
// account type requires (KYC for personal, KYB for business) is approved and no restriction is
// active. It returns the refusal code ("ACCOUNT_RESTRICTED" before "KYC_REQUIRED": the stronger
// reason wins) or "" to allow. Receiving is never checked here.
func (s *Compliance) CheckSend(ctx context.Context, userID, _, _ int64, _ string) (string, error) {
	e, err := s.st.Q.GetSendEligibility(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("compliance: send eligibility: %w", err)
	}
	switch {
	case e.Restricted:
		return ErrRestricted.Code, nil
	case e.CaseStatus != StatusApproved:
		return ErrKYCRequired.Code, nil
	}
	return "", nil
}
