package events

import (
	"strconv"

	"github.com/flowxi/backend/gen/api"
)

// Builders of the events that more than one capability records.

// WalletStatus is the event of a wallet's status change, whoever makes it: the internal ledger
// API (cause internal) or an account closure in compliance (cause account_closed).
func WalletStatus(walletID, userID int64, currency, from, to string, cause api.WalletStatusChangedEventDataCause) Event {
	return Event{Type: WalletStatusChanged, SubjectType: SubjectWallet, SubjectID: strconv.FormatInt(walletID, 10), UserID: userID,
		Data: api.WalletStatusChangedEventData{WalletId: walletID, Currency: currency, FromStatus: api.WalletStatus(from),
			Status: api.WalletStatus(to), Cause: cause}}
}

// OfUser is an event about a user (subject user): account status, restrictions, security.
func OfUser(t Type, userID int64, data any) Event {
	return Event{Type: t, SubjectType: SubjectUser, SubjectID: strconv.FormatInt(userID, 10), UserID: userID, Data: data}
}
