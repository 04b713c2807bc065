package ledger

import "context"

// SendPolicy is the hook through which compliance (KYC, restrictions) decides whether a user may
// send money. It is consulted on every transfer before the movement is queued; a non-empty
// failure code refuses the transfer and records it as failed with that code (the code must be in
// the spec's Code enum). A nil policy allows everything.
type SendPolicy interface {
	CheckSend(ctx context.Context, userID, walletID, amount int64, currency string) (failureCode string, err error)
}
