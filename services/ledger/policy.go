package ledger

import (
	"math"
	"net/http"
	"slices"
	"time"
)

// The money policy: one table decides every movement into or out of a user wallet, evaluated by
// posting.apply under the locks of the accounts it reads. It is the table of the spec's
// introduction ("Money policy"), row for row; TestPolicyTableMatchesSpec keeps the two in step,
// and TestEveryOperationStatesItsPolicy fails when an operation has no column.

// column is one side of an operation as the policy sees it.
type column int

const (
	colUnstated    column = iota // the zero value: an operation that did not state its policy
	colTransferOut               // the sender's wallet
	colTransferIn                // the recipient's wallet
	colDeposit                   // the credited wallet
	colHold                      // the wallet a withdrawal reserves on
	colSettle                    // the wallet a withdrawal leaves
	colVoid                      // the wallet a hold is released on
	colReversalOut               // the account a reversal takes money back from (the original's credit side)
	colReversalIn                // the account a reversal returns money to (the original's debit side)
	colSettlement                // the settlement account, other side of deposits and withdrawals
	columnCount
)

// columnNames are the spec table's headers.
var columnNames = [columnCount]string{"", "transfer out", "transfer in", "deposit", "hold", "settle", "void", "reversal out", "reversal in", "settlement"}

// sides says, for every operation, which column governs its debit account and its credit account.
// An operation missing here has colUnstated on both sides, which TestEveryOperationStatesItsPolicy
// refuses.
var sides = [opCount]struct{ debit, credit column }{
	opTransfer: {colTransferOut, colTransferIn},
	opDeposit:  {colSettlement, colDeposit},
	opHold:     {colHold, colSettlement},
	opSettle:   {colSettle, colSettlement},
	opVoid:     {colVoid, colSettlement},
	opReverse:  {colReversalOut, colReversalIn},
}

// decision is what a rule looks at: the item, the locked account of the side being decided, and
// what the batch knows about its spending.
type decision struct {
	p    *posting
	it   *item
	acct *acct // the side's account (nil: a transfer whose recipient was not found)
	hold *holdRow
	lim  *limitRefusal // set by the spending rule when it refuses
}

// rule is one row of the policy table.
type rule struct {
	name   string
	code   string
	cols   []column
	breaks func(d *decision) bool
}

var (
	// ownWallet: the wallet the operation names and moves money in or out of (not a recipient).
	ownWallet = []column{colTransferOut, colDeposit, colHold, colSettle}
	// sending: money leaves the wallet.
	sending = []column{colTransferOut, colHold, colSettle}
	// closable: the wallets no money may enter or leave once closed (a transfer's recipient is
	// decided by rule 13).
	closable   = append(slices.Clone(ownWallet), colReversalOut, colReversalIn)
	allButVoid = []column{colTransferOut, colTransferIn, colDeposit, colHold, colSettle, colReversalOut, colReversalIn, colSettlement}
)

// policy is the table, in evaluation order.
var policy = []rule{
	{"the hold has expired", "HOLD_EXPIRED", []column{colSettle}, func(d *decision) bool {
		return d.hold != nil && d.hold.expiresAt != nil && !d.p.now.Before(*d.hold.expiresAt)
	}},
	{"the wallet or its owner's account is closed", "WALLET_CLOSED", closable, func(d *decision) bool {
		return d.acct.row.Status == "closed" || d.acct.row.OwnerStatus == "closed"
	}},
	{"the owner is blocked", "ACCOUNT_BLOCKED", ownWallet, func(d *decision) bool { return d.acct.row.OwnerStatus == "blocked" }},
	{"the wallet is frozen", "WALLET_FROZEN", ownWallet, func(d *decision) bool { return d.acct.row.Status == "frozen" }},
	{"the owner has an active restriction", "ACCOUNT_RESTRICTED", sending, func(d *decision) bool {
		return d.compliance() == "ACCOUNT_RESTRICTED"
	}},
	{"the owner's KYC (KYB for a business account) is not approved", "KYC_REQUIRED", sending, func(d *decision) bool {
		return d.compliance() == "KYC_REQUIRED"
	}},
	{"the wallet is in another currency than the request", "CURRENCY_MISMATCH", []column{colTransferOut, colDeposit, colHold}, func(d *decision) bool {
		return d.acct.row.Currency != d.it.currency
	}},
	{"the recipient's wallet is the sender's", "SAME_WALLET", []column{colTransferOut}, func(d *decision) bool {
		return d.it.credit == d.it.debit
	}},
	{"the amount is over the per-transfer limit", "LIMIT_EXCEEDED", []column{colTransferOut}, func(d *decision) bool {
		if capped := d.p.s.limitMinor(d.it.currency); d.it.amount > capped {
			d.lim = &limitRefusal{window: "transfer", limit: capped, remaining: capped}
			return true
		}
		return false
	}},
	{"the amount would take the owner's spending over their daily or monthly limit", "LIMIT_EXCEEDED", []column{colTransferOut, colHold}, func(d *decision) bool {
		d.lim = d.p.spendingRefusal(d.acct, d.it.amount)
		return d.lim != nil
	}},
	{"the amount is more than what remains reversible of the original", "REVERSAL_EXCEEDS_REMAINING", []column{colReversalOut}, func(d *decision) bool {
		return d.it.amount > d.it.origAmount-d.p.reversed[d.it.reverses]
	}},
	{"the available balance of the user wallet is lower than the amount", "INSUFFICIENT_FUNDS", []column{colTransferOut, colHold, colReversalOut}, func(d *decision) bool {
		// The settlement account (a reversal's side when it undoes a withdrawal) stands for the
		// outside world: it is never short.
		return d.acct.row.Kind == "user" && d.acct.row.Balance-d.acct.row.Pending < d.it.amount
	}},
	{"the recipient cannot receive", "RECIPIENT_NOT_FOUND", []column{colTransferIn}, func(d *decision) bool {
		return d.it.recipientFail == "RECIPIENT_NOT_FOUND" ||
			d.acct != nil && (d.acct.row.Status != "active" || d.acct.row.OwnerStatus != "active")
	}},
	{"the recipient has no wallet in the currency", "CURRENCY_MISMATCH", []column{colTransferIn}, func(d *decision) bool {
		return d.acct == nil || d.acct.row.Currency != d.it.currency // no wallet in it, or one in another
	}},
	{"a balance or a pending amount would leave the 64-bit range", "BALANCE_OVERFLOW", allButVoid, func(d *decision) bool {
		return d.overflows()
	}},
}

// decide returns the code of the first rule the movement breaks, or "".
func (p *posting) decide(it *item, from, to *acct, hold *holdRow) (string, *limitRefusal) {
	sd := sides[it.op]
	for i := range policy {
		r := &policy[i]
		for _, side := range [2]struct {
			col column
			a   *acct
		}{{sd.debit, from}, {sd.credit, to}} {
			if !r.applies(side.col) {
				continue
			}
			d := decision{p: p, it: it, acct: side.a, hold: hold}
			if r.breaks(&d) {
				return r.code, d.lim
			}
		}
	}
	return "", nil
}

func (r *rule) applies(c column) bool {
	for _, x := range r.cols {
		if x == c {
			return true
		}
	}
	return false
}

// compliance asks compliance's send policy about the side's owner (restriction first).
func (d *decision) compliance() string {
	if d.p.s.policy == nil {
		return ""
	}
	r := d.acct.row
	return d.p.s.policy.DecideSend(r.AccountType, r.CaseStatus, r.Restricted)
}

// overflows says whether applying the item would take the side's balance or pending amount past
// the int64 range. Debit sides lose the amount (a hold adds it to pending), credit sides gain it.
func (d *decision) overflows() bool {
	a, amt := d.acct, d.it.amount
	if a == nil {
		return false
	}
	switch {
	case d.it.op == opHold && a.row.ID == d.it.debit:
		return a.row.Pending > math.MaxInt64-amt
	case d.it.op == opHold || d.it.op == opVoid:
		return false // the settlement side of a hold moves nothing until it settles
	case a.row.ID == d.it.debit:
		return a.row.Balance < math.MinInt64+amt
	default:
		return a.row.Balance > math.MaxInt64-amt
	}
}

// SendPolicy is the hook through which compliance (KYC, restrictions) takes part in the money
// policy (rules 5 and 6), with the owner's row of the compliance_send_eligibility view (which
// compliance owns; the ledger reads it with the locked accounts). It returns
// "ACCOUNT_RESTRICTED", "KYC_REQUIRED" or "" to allow. A nil policy allows everything.
type SendPolicy interface {
	DecideSend(accountType, caseStatus string, restricted bool) (failureCode string)
}

// forbiddenCodes are the refusals that answer 403 (the owner may not move money) rather than
// 409; they are recorded as failed transactions like every other refusal.
var forbiddenCodes = map[string]bool{"KYC_REQUIRED": true, "ACCOUNT_RESTRICTED": true, "ACCOUNT_BLOCKED": true}

// rejectionStatus is the HTTP status of a recorded refusal.
func rejectionStatus(code string) int {
	if forbiddenCodes[code] {
		return http.StatusForbidden
	}
	return http.StatusConflict
}

// holdRow is a hold as read under its wallet's lock.
type holdRow struct {
	status    string
	createdAt time.Time
	expiresAt *time.Time
}
