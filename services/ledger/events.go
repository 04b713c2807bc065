package ledger

import (
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/events"
)

// The domain events of money movements (services/events) are written by the posting statement
// with the rest of the batch, one per committed outcome: a posted transfer, deposit or
// settlement, a failed transfer, a placed, voided or expired hold. Refused deposits and holds (a
// 4xx to the internal caller), refused settles and duplicate references write none.

// addEvent appends ev, built by the shared builder, to the batch.
func (p *posting) addEvent(ev events.Event) error {
	if p.s.eventsOff {
		return nil
	}
	r, err := events.Build(ev)
	if err != nil {
		return err
	}
	a := &p.arg
	a.EvType = append(a.EvType, r.Type)
	a.EvVersion = append(a.EvVersion, r.Version)
	a.EvSubjectType = append(a.EvSubjectType, r.SubjectType)
	a.EvSubjectID = append(a.EvSubjectID, r.SubjectID)
	a.EvUser = append(a.EvUser, r.UserID)
	a.EvData = append(a.EvData, r.Data)
	return nil
}

// movedEvent is the event of a new transaction (apply): to is the credited account, fail the
// refusal's code; ok is false when the outcome has none.
func movedEvent(it *item, txID int64, to *acct, fail string, expires time.Time) (ev events.Event, ok bool) {
	id := itoa(txID)
	switch {
	case it.op == opTransfer && fail != "":
		return events.Event{Type: events.TransferFailed, SubjectType: events.SubjectTransfer, SubjectID: id, UserID: it.userID,
			Data: api.TransferFailedEventData{TransactionId: txID, Amount: it.amount, Currency: it.currency,
				FromWalletId: it.debit, FromUserId: it.userID, FailureCode: fail}}, true
	case fail != "":
		return ev, false
	case it.op == opTransfer:
		return events.Event{Type: events.TransferCompleted, SubjectType: events.SubjectTransfer, SubjectID: id, UserID: it.userID,
			Data: api.TransferCompletedEventData{TransactionId: txID, Amount: it.amount, Currency: it.currency,
				FromWalletId: it.debit, ToWalletId: it.credit, FromUserId: it.userID, ToUserId: ptr.Value(to.row.UserID),
				FromUsername: ptr.Value(it.fromUser), ToUsername: ptr.Value(it.toUser), Note: strPtr(it.note)}}, true
	case it.op == opDeposit:
		return events.Event{Type: events.DepositPosted, SubjectType: events.SubjectDeposit, SubjectID: id, UserID: it.userID,
			Data: api.DepositPostedEventData{TransactionId: txID, Amount: it.amount, Currency: it.currency, WalletId: it.credit,
				ExternalReference: strPtr(it.extRef), Note: strPtr(it.note)}}, true
	default: // a hold placed
		return events.Event{Type: events.HoldCreated, SubjectType: events.SubjectHold, SubjectID: id, UserID: it.userID,
			Data: api.HoldCreatedEventData{HoldId: txID, Amount: it.amount, Currency: it.currency, WalletId: it.debit,
				ExternalReference: strPtr(it.extRef), ExpiresAt: strPtr(ts(expires))}}, true
	}
}

// finishedEvent is the event of a hold settled, voided or expired (finish, once it passed).
func finishedEvent(it *item) events.Event {
	t := map[op]events.Type{opSettle: events.HoldSettled, opVoid: events.HoldVoided}[it.op]
	if it.expiry {
		t = events.HoldExpired
	}
	return events.Event{Type: t, SubjectType: events.SubjectHold, SubjectID: itoa(it.holdID), UserID: it.userID,
		Data: api.HoldFinishedEventData{HoldId: it.holdID, Amount: it.amount, Currency: it.currency, WalletId: it.debit,
			ExternalReference: it.hold.extRef}}
}
