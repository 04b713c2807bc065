package ledger

import "net/http"

// SendPolicy is the hook through which compliance (KYC, restrictions) decides whether a user may
// send money. It is consulted on every transfer before the movement is queued, with the sender's
// row of the compliance_send_eligibility view (which compliance owns; the ledger reads it in the
// same query as the wallets). A non-empty failure code refuses the transfer and records it as
// failed with that code (the code must be in the spec's Code enum). A nil policy allows everything.
type SendPolicy interface {
	DecideSend(accountType, caseStatus string, restricted bool) (failureCode string)
}

// forbiddenCodes are the refusals of the send policy that answer 403 (the sender is not allowed
// to send) rather than 409; they are recorded as failed transactions like every other refusal.
var forbiddenCodes = map[string]bool{"KYC_REQUIRED": true, "ACCOUNT_RESTRICTED": true}

// rejectionStatus is the HTTP status of a recorded refusal.
func rejectionStatus(code string) int {
	if forbiddenCodes[code] {
		return http.StatusForbidden
	}
	return http.StatusConflict
}
