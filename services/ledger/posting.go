package ledger

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/reqctx"
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
}

func (p *posting) empty() bool { return len(p.arg.TID) == 0 && len(p.arg.HID) == 0 }

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

// apply decides one item against the locked rows and records its rows. A business refusal
// becomes a failed transaction; state changes happen only after every check passed.
func (p *posting) apply(it *item, txID int64, accts map[int64]*acct, holds map[int64]string) (outcome, error) {
	fail := it.preFail
	var from, to *acct
	if fail == "" {
		for _, id := range it.lockSet() {
			if accts[id] == nil {
				return outcome{}, fmt.Errorf("ledger: account %d not locked", id)
			}
		}
		from, to = accts[it.debit], accts[it.credit]
	}
	tx := api.Transaction{Id: txID, Amount: it.amount, Currency: it.currency, CreatedAt: ts(p.now),
		FromUsername: it.fromUser, ToUsername: it.toUser, Note: strPtr(it.note), ExternalReference: strPtr(it.extRef)}
	if it.debit != 0 && it.op != opDeposit {
		tx.FromWalletId = &it.debit
	}
	if it.credit != 0 && (it.op == opTransfer || it.op == opDeposit) {
		tx.ToWalletId = &it.credit
	}
	final := ts(p.now)
	status, code := http.StatusCreated, ""
	switch it.op {
	case opTransfer, opDeposit, opHold:
		kind := map[op]string{opTransfer: "transfer", opDeposit: "deposit", opHold: "withdrawal"}[it.op]
		tx.Kind = api.TransactionKind(kind)
		if fail == "" {
			fail = p.check(it, from, to)
		}
		if fail != "" {
			tx.Status, tx.FailureCode, tx.FinalizedAt = "failed", &fail, &final
			status, code = rejectionStatus(fail), fail
		} else if it.op == opHold {
			from.row.Pending += it.amount
			p.touch(from)
			tx.Status, code = "pending", "HOLD_CREATED"
		} else {
			p.entry(from, txID, -it.amount)
			p.entry(to, txID, it.amount)
			tx.Status, tx.FinalizedAt = "posted", &final
			code = map[op]string{opTransfer: "TRANSFER_COMPLETED", opDeposit: "DEPOSIT_POSTED"}[it.op]
		}
		p.addTransaction(it, txID, kind, string(tx.Status), fail)
	case opSettle, opVoid:
		if holds[it.holdID] != "pending" {
			return outcome{err: ErrHoldNotPending}, nil
		}
		txID = it.holdID
		tx.Id, tx.Kind, tx.FinalizedAt = txID, "withdrawal", &final
		tx.CreatedAt, tx.Note, tx.ExternalReference = ts(it.hold.createdAt), it.hold.note, it.hold.extRef
		from.row.Pending -= it.amount
		p.touch(from)
		status = http.StatusOK
		if it.op == opSettle {
			p.entry(from, txID, -it.amount)
			p.entry(to, txID, it.amount)
			tx.Status, code = "posted", "HOLD_SETTLED"
		} else {
			tx.Status, code = "voided", "HOLD_VOIDED"
		}
		p.arg.HID = append(p.arg.HID, txID)
		p.arg.HStatus = append(p.arg.HStatus, string(tx.Status))
	}
	data, err := json.Marshal(tx)
	if err != nil {
		return outcome{}, err
	}
	p.addIdempotency(it, txID, status, code, data)
	p.addAudit(it, txID, string(tx.Kind), string(tx.Status), fail)
	return outcome{status: status, code: code, data: data}, nil
}

// check returns the business rule a new movement breaks, or "".
func (p *posting) check(it *item, from, to *acct) string {
	switch it.op {
	case opTransfer:
		if from.row.Status != "active" || to.row.Status != "active" {
			return "WALLET_FROZEN"
		}
	case opDeposit:
		if to.row.Status != "active" {
			return "WALLET_FROZEN"
		}
	case opHold:
		if from.row.Status != "active" {
			return "WALLET_FROZEN"
		}
		to = from
	}
	if from.row.Currency != it.currency || to.row.Currency != it.currency {
		return "CURRENCY_MISMATCH"
	}
	if from.row.Kind == "user" && from.row.Balance-from.row.Pending < it.amount {
		return "INSUFFICIENT_FUNDS"
	}
	return ""
}

func (p *posting) addTransaction(it *item, txID int64, kind, status, fail string) {
	a := &p.arg
	a.TID = append(a.TID, txID)
	a.TKind = append(a.TKind, kind)
	a.TStatus = append(a.TStatus, status)
	a.TCurrency = append(a.TCurrency, it.currency)
	a.TAmount = append(a.TAmount, it.amount)
	a.TFrom = append(a.TFrom, it.debit)
	a.TTo = append(a.TTo, it.credit)
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

// addAudit records the movement with the request's actor, as audit.Record would, in the batch.
func (p *posting) addAudit(it *item, txID int64, kind, status, fail string) {
	if p.s.auditOff {
		return
	}
	info := reqctx.From(it.ctx)
	actorType, actorID := "anonymous", ""
	switch {
	case info.Principal != nil:
		actorType, actorID = "user", strconv.FormatInt(info.Principal.UserID, 10)
	case info.InternalKey != nil:
		actorType, actorID = "internal_key", info.InternalKey.Name
	}
	// The subject is the ledger transaction, whose row names both accounts and which the ledger
	// chains itself: the details keep what a reader of the log needs at a glance (how much, and
	// why it failed) and no more, since every byte here is written for every movement.
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
	details = append(details, '}')
	action := "ledger." + kind + "." + status
	if it.op == opHold {
		action = "ledger.hold." + status
	}
	a := &p.arg
	a.AuActorType = append(a.AuActorType, actorType)
	a.AuActorID = append(a.AuActorID, actorID)
	a.AuAction = append(a.AuAction, action)
	a.AuSubject = append(a.AuSubject, strconv.FormatInt(txID, 10))
	a.AuUser = append(a.AuUser, it.userID)
	a.AuIp = append(a.AuIp, info.IP)
	a.AuUa = append(a.AuUa, truncate(info.UserAgent, 512))
	a.AuRid = append(a.AuRid, info.RequestID)
	a.AuDetails = append(a.AuDetails, string(details))
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
	}
	return a
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
