package ledger

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
)

// Limits are the spending limits of one verification tier, in major units of a currency.
type Limits struct{ Daily, Monthly int64 }

// DefaultSpendingLimits apply when none are configured (LEDGER_SPENDING_LIMITS), per tier: the
// account type of the owner's approved case.
var DefaultSpendingLimits = map[string]Limits{"personal": {Daily: 10_000, Monthly: 50_000}, "business": {Daily: 100_000, Monthly: 1_000_000}}

// The windows: the last 24 hour buckets (rolling, at one-hour granularity) and the calendar
// month in UTC.
const (
	periodHour  = "hour"
	periodMonth = "month"
	dayWindow   = 24 * time.Hour
)

func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
func monthOf(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// dayStart is the exclusive lower bound of the hour buckets in the rolling window at now.
func dayStart(now time.Time) time.Time { return hourOf(now).Add(-dayWindow) }

// spendState is one account's counters in the current windows, as the batch changes them: the
// hour buckets still in the rolling window, keyed by the hour, and the month's total.
type spendState struct {
	hours map[time.Time]int64
	month int64
}

func (st *spendState) day() int64 {
	var n int64
	for _, v := range st.hours {
		n += v
	}
	return n
}

// dayResets is when the oldest spending leaves the rolling window (nil when nothing is spent).
func (st *spendState) dayResets() *time.Time {
	var oldest *time.Time
	for h, v := range st.hours {
		if v > 0 && (oldest == nil || h.Before(*oldest)) {
			h := h
			oldest = &h
		}
	}
	if oldest == nil {
		return nil
	}
	r := oldest.Add(dayWindow)
	return &r
}

// A spend_hours record: the hour since the epoch (uint32) and the amount (int64), big-endian.
const spendRecord = 12

// spendOf reads an account row's counters as they stand at now: hours that left the window and
// a past month count nothing.
func spendOf(packed []byte, month int64, monthStart *time.Time, now time.Time) *spendState {
	st := &spendState{hours: map[time.Time]int64{}}
	from := dayStart(now)
	for ; len(packed) >= spendRecord; packed = packed[spendRecord:] {
		h := time.Unix(int64(binary.BigEndian.Uint32(packed))*3600, 0).UTC()
		if v := int64(binary.BigEndian.Uint64(packed[4:])); v != 0 && h.After(from) {
			st.hours[h] = v
		}
	}
	if monthStart != nil && monthStart.Equal(monthOf(now)) {
		st.month = month
	}
	return st
}

// row writes the counters back in the row's form: the hours still in the window at now, oldest
// first, the month's total and its start.
func (st *spendState) row(now time.Time) (packed []byte, month int64, monthStart time.Time) {
	hours := make([]time.Time, 0, len(st.hours))
	for h, v := range st.hours {
		if v != 0 && h.After(dayStart(now)) {
			hours = append(hours, h)
		}
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Before(hours[j]) })
	packed = make([]byte, 0, spendRecord*len(hours))
	for _, h := range hours {
		packed = binary.BigEndian.AppendUint32(packed, uint32(h.Unix()/3600))
		packed = binary.BigEndian.AppendUint64(packed, uint64(st.hours[h]))
	}
	return packed, st.month, monthOf(now)
}

// limitRefusal is what a LIMIT_EXCEEDED answer says about the window that refused.
type limitRefusal struct {
	window                 string // transfer | day | month
	limit, used, remaining int64
	resetsAt               *time.Time
}

// tierLimits returns the limits of an account type in a currency, in minor units.
func (s *Service) tierLimits(accountType, currency string) Limits {
	if accountType == "" {
		accountType = "personal"
	}
	l, ok := s.spending[currency+"/"+accountType]
	if !ok {
		l = s.spending[accountType]
	}
	e, _ := s.cur.exponent(currency)
	return Limits{Daily: l.Daily * pow10(e), Monthly: l.Monthly * pow10(e)}
}

// loadSpending reads the counters of the batch's user accounts from their locked rows.
func (p *posting) loadSpending(accts map[int64]*acct) {
	p.spend = make(map[int64]*spendState, len(accts))
	for id, a := range accts {
		if r := a.row; r.Kind == "user" {
			p.spend[id] = spendOf(r.SpendHours, r.SpendMonth, r.SpendMonthStart, p.now)
		}
	}
}

// spendingRefusal checks amount against the account's daily and monthly limits.
func (p *posting) spendingRefusal(a *acct, amount int64) *limitRefusal {
	st := p.spend[a.row.ID]
	if st == nil {
		return nil
	}
	l := p.s.tierLimits(a.row.AccountType, a.row.Currency)
	if day := st.day(); amount > l.Daily-day {
		return &limitRefusal{window: "day", limit: l.Daily, used: day, remaining: max(0, l.Daily-day), resetsAt: st.dayResets()}
	}
	if amount > l.Monthly-st.month {
		next := monthOf(p.now).AddDate(0, 1, 0)
		return &limitRefusal{window: "month", limit: l.Monthly, used: st.month, remaining: max(0, l.Monthly-st.month), resetsAt: &next}
	}
	return nil
}

// spent counts amount against the account's windows at time at (delta < 0: a hold given back,
// only from the buckets still in the windows and never below zero). The row is rewritten with
// the account's new head (posting.params).
func (p *posting) spent(a *acct, at time.Time, delta int64) {
	st := p.spend[a.row.ID]
	if st == nil {
		return
	}
	if h := hourOf(at); delta > 0 || h.After(dayStart(p.now)) {
		st.hours[h] += max(delta, -st.hours[h])
	}
	if delta > 0 || monthOf(at).Equal(monthOf(p.now)) {
		st.month += max(delta, -st.month)
	}
	p.touch(a)
}

// GetWalletLimits shows the caller's spending limits on one of their wallets, read without a lock.
func (s *Service) GetWalletLimits(ctx context.Context, req api.GetWalletLimitsRequestObject) (api.GetWalletLimitsResponseObject, error) {
	pr := reqctx.Caller(ctx)
	w, err := s.st.Q.GetOwnedWalletTier(ctx, db.GetOwnedWalletTierParams{ID: req.Id, UserID: &pr.UserID})
	if err != nil {
		if pg.IsNotFound(err) {
			return nil, ErrWalletNotFound
		}
		return nil, fmt.Errorf("ledger: wallet: %w", err)
	}
	now := s.clock.Now()
	st, l := spendOf(w.SpendHours, w.SpendMonth, w.SpendMonthStart, now), s.tierLimits(w.AccountType, w.Currency)
	var monthResets *string
	if st.month > 0 {
		monthResets = strPtr(ts(monthOf(now).AddDate(0, 1, 0)))
	}
	day := st.day()
	var dayResets *string
	if r := st.dayResets(); r != nil {
		dayResets = strPtr(ts(*r))
	}
	data := api.WalletLimits{WalletId: w.ID, Currency: w.Currency, Tier: api.WalletLimitsTier(w.AccountType), Verified: w.CaseStatus == "approved",
		PerTransfer: s.limitMinor(w.Currency),
		Daily:       api.SpendingWindow{Limit: l.Daily, Used: day, Remaining: max(0, l.Daily-day), ResetsAt: dayResets},
		Monthly:     api.SpendingWindow{Limit: l.Monthly, Used: st.month, Remaining: max(0, l.Monthly-st.month), ResetsAt: monthResets}}
	return api.GetWalletLimits200JSONResponse{Code: "LIMITS_OK", Message: i18n.Msg(ctx, "LIMITS_OK"), Data: data}, nil
}

// ParseLimits reads LEDGER_SPENDING_LIMITS: ";"-separated "TIER:daily=N,monthly=N" entries, TIER
// being "personal", "business" or "CUR/TIER"; a window left out keeps the tier's default.
func ParseLimits(s string) (map[string]Limits, error) {
	out := map[string]Limits{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, windows, ok := strings.Cut(entry, ":")
		tier := name[strings.LastIndexByte(name, '/')+1:]
		l, known := DefaultSpendingLimits[tier]
		if !ok || !known {
			return nil, fmt.Errorf("LEDGER_SPENDING_LIMITS: %q: want TIER:daily=N,monthly=N with TIER personal, business or CUR/TIER", entry)
		}
		for _, w := range strings.Split(windows, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(w), "=")
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || n > math.MaxInt64/1_000_000 {
				return nil, fmt.Errorf("LEDGER_SPENDING_LIMITS: %q: %q is not a positive amount", entry, v)
			}
			switch k {
			case "daily":
				l.Daily = n
			case "monthly":
				l.Monthly = n
			default:
				return nil, fmt.Errorf("LEDGER_SPENDING_LIMITS: %q: unknown window %q (daily, monthly)", entry, k)
			}
		}
		out[name] = l
	}
	return out, nil
}
