package ledger

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/audit"
)

// acct is a locked account row and its state as the batch changes it.
type acct struct {
	row        db.LockAccountsRow
	oldVersion int64
	touched    bool
}

// posting accumulates the rows of one batch.
type posting struct {
	s       *Service
	now     time.Time
	arg     db.PostBatchParams
	touched []*acct
	// refs: external references already used (read under their advisory locks, then those the
	// batch uses), with the transaction JSON a duplicate answers with.
	refs map[string][]byte
	// spending counters of the batch's user accounts (written back with their heads).
	spend map[int64]*spendState
	// reversed: what the posted reversals of each original a reversal of the batch names moved
	// back (read under the accounts' locks, then what the batch posts).
	reversed map[int64]int64
}

func (p *posting) empty() bool {
	return len(p.arg.TID) == 0 && len(p.arg.HID) == 0 && len(p.arg.ICaller) == 0
}

// touch marks an account for the head update.
func (p *posting) touch(a *acct) {
	if !a.touched {
		a.touched = true
		p.touched = append(p.touched, a)
	}
}

// entry appends one entry to a locked account: next version, running balance, chained hash.
func (p *posting) entry(a *acct, txID, amount int64) {
	r := &a.row
	r.Version++
	r.Balance += amount
	h := entryHash(r.LastHash, r.ID, r.Version, txID, amount, r.Balance, p.now)
	p.arg.ETx = append(p.arg.ETx, txID)
	p.arg.EAccount = append(p.arg.EAccount, r.ID)
	p.arg.EAmount = append(p.arg.EAmount, amount)
	p.arg.EBalance = append(p.arg.EBalance, r.Balance)
	p.arg.EVersion = append(p.arg.EVersion, r.Version)
	p.arg.EPrev = append(p.arg.EPrev, r.LastHash)
	p.arg.EHash = append(p.arg.EHash, h)
	r.LastHash = h
	p.touch(a)
}

// kindOf is the transaction kind an operation records.
var kindOf = [opCount]string{opTransfer: "transfer", opDeposit: "deposit", opHold: "withdrawal", opSettle: "withdrawal", opVoid: "withdrawal",
	opReverse: "reversal"}

// postedCode is the code of an operation whose movement is posted at once.
var postedCode = map[op]string{opTransfer: "TRANSFER_COMPLETED", opDeposit: "DEPOSIT_POSTED", opReverse: "REVERSAL_POSTED"}

// apply decides one item against the locked rows with the money policy and records its rows. A
// refusal becomes a failed transaction; state changes happen only after every rule passed.
func (p *posting) apply(it *item, txID int64, accts map[int64]*acct, holds map[int64]*holdRow) (outcome, error) {
	for _, id := range it.lockSet() {
		if accts[id] == nil {
			return outcome{}, fmt.Errorf("ledger: account %d not locked", id)
		}
	}
	from, to := accts[it.debit], accts[it.credit]
	if it.op == opSettle || it.op == opVoid {
		return p.finish(it, from, to, holds[it.holdID])
	}
	if orig, ok := p.refs[it.refKey()]; ok && it.extRef != "" {
		// The reference is used already: answer with the original, record nothing but the key.
		p.addIdempotency(it, 0, http.StatusConflict, "DUPLICATE_EXTERNAL_REFERENCE", orig)
		return outcome{status: http.StatusConflict, code: "DUPLICATE_EXTERNAL_REFERENCE", data: orig}, nil
	}
	tx := p.newTx(it, txID, from, to)
	var expires time.Time // the zero time stands for NULL (see PostBatch)
	if it.op == opHold {
		expires = p.now.Add(it.expiresIn)
		tx.ExpiresAt = strPtr(ts(expires))
	}
	final := ts(p.now)
	status, code := http.StatusCreated, ""
	fail, lim := p.decide(it, from, to, nil)
	credit := it.credit
	switch {
	case fail != "":
		tx.Status, tx.FailureCode, tx.FinalizedAt = "failed", &fail, &final
		status, code = rejectionStatus(fail), fail
		lim.describe(&tx)
		if it.op == opTransfer {
			// A refusal never names the recipient (nor records it).
			tx.ToWalletId, tx.ToUsername, credit = nil, nil, 0
		}
	case it.op == opHold:
		from.row.Pending += it.amount
		p.touch(from)
		p.spent(from, p.now, it.amount)
		tx.Status, code = "pending", "HOLD_CREATED"
	default:
		p.entry(from, txID, -it.amount)
		p.entry(to, txID, it.amount)
		if it.op == opTransfer {
			p.spent(from, p.now, it.amount)
		}
		if it.op == opReverse {
			p.reversed[it.reverses] += it.amount
		}
		tx.Status, tx.FinalizedAt, code = "posted", &final, postedCode[it.op]
	}
	p.addTransaction(it, txID, credit, string(tx.Status), fail, expires)
	data, err := json.Marshal(tx)
	if err != nil {
		return outcome{}, err
	}
	if fail == "" && it.extRef != "" {
		p.useRef(it.refKey(), data)
	}
	p.addIdempotency(it, txID, status, code, data)
	action := "ledger." + kindOf[it.op] + "." + string(tx.Status)
	if it.op == opHold {
		action = "ledger.hold." + string(tx.Status)
	}
	p.addAudit(it, txID, action, fail)
	if ev, ok := movedEvent(it, txID, to, fail, expires); ok {
		if err := p.addEvent(ev); err != nil {
			return outcome{}, err
		}
	}
	return outcome{status: status, code: code, data: data}, nil
}

// newTx is the transaction an item records, as its answer shows it: a wallet side is named
// only when it is a user wallet (a deposit's source, a withdrawal's destination and the
// settlement side of a reversal are the settlement account).
func (p *posting) newTx(it *item, txID int64, from, to *acct) api.Transaction {
	tx := api.Transaction{Id: txID, Kind: api.TransactionKind(kindOf[it.op]), Amount: it.amount, Currency: it.currency, CreatedAt: ts(p.now),
		FromUsername: it.fromUser, ToUsername: it.toUser, Note: strPtr(it.note), ExternalReference: strPtr(it.extRef)}
	switch it.op {
	case opDeposit:
		tx.ToWalletId = &it.credit
	case opTransfer:
		tx.FromWalletId, tx.ToWalletId = &it.debit, &it.credit
	case opReverse:
		tx.ReversesId = &it.reverses
		if from.row.Kind == "user" {
			tx.FromWalletId = &it.debit
		}
		if to.row.Kind == "user" {
			tx.ToWalletId = &it.credit
		}
	default:
		tx.FromWalletId = &it.debit
	}
	return tx
}

// finish settles or voids a pending hold. A settle is decided by the money policy; a refusal
// leaves the hold pending. A void always passes (and gives the hold back to the spending limits).
func (p *posting) finish(it *item, from, to *acct, h *holdRow) (outcome, error) {
	if h == nil || h.status != "pending" {
		if h != nil && h.expiresAt != nil && h.status == "voided" && it.op == opSettle && !p.now.Before(*h.expiresAt) {
			return outcome{err: ErrHoldExpired}, nil
		}
		return outcome{err: ErrHoldNotPending}, nil
	}
	txID := it.holdID
	final := ts(p.now)
	tx := api.Transaction{Id: txID, Kind: "withdrawal", Amount: it.amount, Currency: it.currency, CreatedAt: ts(h.createdAt),
		FromWalletId: &it.debit, FromUsername: it.fromUser, Note: it.hold.note, ExternalReference: it.hold.extRef, Status: "pending"}
	if h.expiresAt != nil {
		tx.ExpiresAt = strPtr(ts(*h.expiresAt))
	}
	status, code, action := http.StatusOK, "", ""
	fail, _ := p.decide(it, from, to, h)
	switch {
	case fail != "":
		status, code, action = rejectionStatus(fail), fail, "ledger.hold.settle_refused"
	case it.op == opSettle:
		from.row.Pending -= it.amount
		p.entry(from, txID, -it.amount)
		p.entry(to, txID, it.amount)
		tx.Status, tx.FinalizedAt, code, action = "posted", &final, "HOLD_SETTLED", "ledger.withdrawal.posted"
	default:
		from.row.Pending -= it.amount
		p.touch(from)
		p.spent(from, h.createdAt, -it.amount)
		tx.Status, tx.FinalizedAt, code, action = "voided", &final, "HOLD_VOIDED", "ledger.withdrawal.voided"
		if it.expiry {
			action = "ledger.hold.expired"
		}
	}
	if fail == "" {
		p.arg.HID = append(p.arg.HID, txID)
		p.arg.HStatus = append(p.arg.HStatus, string(tx.Status))
		if err := p.addEvent(finishedEvent(it)); err != nil {
			return outcome{}, err
		}
	}
	data, err := json.Marshal(tx)
	if err != nil {
		return outcome{}, err
	}
	p.addIdempotency(it, txID, status, code, data)
	p.addAudit(it, txID, action, fail)
	return outcome{status: status, code: code, data: data}, nil
}

// useRef records that the batch used an external reference.
func (p *posting) useRef(key string, data []byte) {
	if p.refs == nil {
		p.refs = map[string][]byte{}
	}
	p.refs[key] = data
}

// describe adds a limit refusal's figures to its transaction.
func (l *limitRefusal) describe(tx *api.Transaction) {
	if l == nil {
		return
	}
	w := api.TransactionLimitWindow(l.window)
	tx.LimitWindow, tx.Limit, tx.Used, tx.Remaining = &w, &l.limit, &l.used, &l.remaining
	if l.resetsAt != nil {
		tx.ResetsAt = strPtr(ts(*l.resetsAt))
	}
}

func (p *posting) addTransaction(it *item, txID, credit int64, status, fail string, expires time.Time) {
	a := &p.arg
	a.TID = append(a.TID, txID)
	a.TKind = append(a.TKind, kindOf[it.op])
	a.TStatus = append(a.TStatus, status)
	a.TCurrency = append(a.TCurrency, it.currency)
	a.TAmount = append(a.TAmount, it.amount)
	a.TFrom = append(a.TFrom, it.debit)
	a.TTo = append(a.TTo, credit)
	a.TFailure = append(a.TFailure, fail)
	a.TKey = append(a.TKey, it.key)
	a.TInitType = append(a.TInitType, it.initType)
	a.TInitID = append(a.TInitID, it.initID)
	a.TNote = append(a.TNote, it.note)
	a.TExt = append(a.TExt, it.extRef)
	var fin time.Time // the zero time stands for NULL (see PostBatch)
	if status != "pending" {
		fin = p.now
	}
	a.TFinalized = append(a.TFinalized, fin)
	a.TExpires = append(a.TExpires, expires)
	a.TReverses = append(a.TReverses, it.reverses)
}

func (p *posting) addIdempotency(it *item, txID int64, status int, code string, data []byte) {
	a := &p.arg
	a.ICaller = append(a.ICaller, it.caller)
	a.IKey = append(a.IKey, it.key)
	a.IHash = append(a.IHash, it.reqHash)
	a.IStatus = append(a.IStatus, int32(status))
	a.ICode = append(a.ICode, code)
	a.IData = append(a.IData, string(data))
	a.ITx = append(a.ITx, txID)
}

// addAudit records the movement in the batch, with the row audit.Build makes for any event.
// The subject is the ledger transaction, whose row names both accounts and which the ledger
// chains itself: the details keep what a reader of the log needs at a glance (how much, and why
// it failed) and no more, since every byte here is written for every movement.
func (p *posting) addAudit(it *item, txID int64, action, fail string) {
	if p.s.auditOff {
		return
	}
	// Built by hand: a map through encoding/json cost more than the rest of the audit row. The
	// values are a number, an ISO 4217 code and a code from the spec's enum: nothing to escape.
	details := make([]byte, 0, 64)
	details = append(details, `{"amount":`...)
	details = strconv.AppendInt(details, it.amount, 10)
	details = append(details, `,"currency":"`...)
	details = append(details, it.currency...)
	details = append(details, '"')
	if fail != "" {
		details = append(details, `,"failure_code":"`...)
		details = append(details, fail...)
		details = append(details, '"')
	}
	if it.op == opReverse {
		details = reversalDetails(details, it)
	}
	details = append(details, '}')
	r := audit.Build(it.ctx, audit.Event{Action: action, UserID: it.userID, SubjectType: "ledger_transaction",
		SubjectID: strconv.FormatInt(txID, 10), System: it.expiry}, details)
	a := &p.arg
	a.AuActorType = append(a.AuActorType, r.ActorType)
	a.AuActorID = append(a.AuActorID, r.ActorID)
	a.AuAction = append(a.AuAction, r.Action)
	a.AuSubject = append(a.AuSubject, r.SubjectID)
	a.AuUser = append(a.AuUser, r.UserID)
	a.AuIp = append(a.AuIp, r.IP)
	a.AuUa = append(a.AuUa, r.UserAgent)
	a.AuRid = append(a.AuRid, r.RequestID)
	a.AuDetails = append(a.AuDetails, r.Details)
}

// params finishes the batch: the new head of every touched account.
func (p *posting) params() db.PostBatchParams {
	a := p.arg
	a.Now = p.now
	a.Expires = p.now.Add(IdempotencyTTL)
	for _, t := range p.touched {
		a.AID = append(a.AID, t.row.ID)
		a.AOldVersion = append(a.AOldVersion, t.oldVersion)
		a.ABalance = append(a.ABalance, t.row.Balance)
		a.APending = append(a.APending, t.row.Pending)
		a.AVersion = append(a.AVersion, t.row.Version)
		a.AHash = append(a.AHash, t.row.LastHash)
		hours, month, monthStart := []byte{}, int64(0), time.Time{} // the zero time: NULL
		if st := p.spend[t.row.ID]; st != nil {
			hours, month, monthStart = st.row(p.now)
		}
		a.ASpendHours = append(a.ASpendHours, hours)
		a.ASpendMonth, a.ASpendMonthStart = append(a.ASpendMonth, month), append(a.ASpendMonthStart, monthStart)
	}
	return a
}
