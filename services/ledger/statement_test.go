package ledger_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

// statementReq asks for the statement of wallet over [from, to) with an Accept header (none
// when "") in lang (the user's locale when "").
func (f *fixture) statementReq(u testkit.User, wallet int64, from, to string, accept, lang string) *testkit.Resp {
	f.T.Helper()
	h := map[string]string{}
	if accept != "" {
		h["Accept"] = accept
	}
	if lang != "" {
		h["X-App-Locale"] = lang
	}
	q := url.Values{"from": {from}, "to": {to}}
	return f.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/wallets/%d/statement?%s", wallet, q.Encode()), Token: u.Token, Headers: h})
}

// statement is the JSON statement of wallet over [from, to).
func (f *fixture) statement(u testkit.User, wallet int64, from, to time.Time) api.Statement {
	f.T.Helper()
	r := f.statementReq(u, wallet, rfc3339(from), rfc3339(to), "application/json", "")
	if r.Status != 200 || r.Code() != "STATEMENT_OK" {
		f.T.Fatalf("statement: %d %s", r.Status, r.Body)
	}
	return testkit.DataOf[api.Statement](f.T, r)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// statementStory is a wallet with movements before, during and after a period.
type statementStory struct {
	owner, peer      testkit.User
	wallet           int64
	from, to, before time.Time
	hyperlink        string
}

// newStatementStory: a holder with an accented name; before the period a deposit and a
// transfer out; in it a transfer in with a formula as its note, a transfer out whose note starts
// with '+', a partial reversal of the first deposit and a settled withdrawal; after it a deposit.
func newStatementStory(f *fixture) statementStory {
	f.T.Helper()
	s := statementStory{owner: f.CreateUser(), peer: f.CreateUser(), hyperlink: `=HYPERLINK("https://evil.example/?q=1","Cliquez ici")`}
	if r := f.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: s.owner.Token,
		JSON: map[string]any{"first_name": "Élodie", "last_name": "N'Diaye-Hounkpè"}}); r.Status != 200 {
		f.T.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	s.wallet = f.Wallet(s.owner, "EUR")
	wp := f.Wallet(s.peer, "EUR")
	f.Deposit(wp, 1_000_000, "EUR")
	s.before = f.Clock.Now()
	dep := f.depositID(s.wallet, 150_000)
	f.Clock.Advance(24 * time.Hour)
	f.mustTransfer(s.owner, s.wallet, s.peer.Username, 2_500, "Dîner, \"chez Léa\"\nmerci")
	f.Clock.Advance(24 * time.Hour)
	s.from = f.Clock.Now()
	f.mustTransfer(s.peer, wp, s.owner.Username, 123_456, s.hyperlink)
	f.Clock.Advance(time.Hour)
	f.mustTransfer(s.owner, s.wallet, s.peer.Username, 99, "+33 6 12 34 56 78")
	if r := f.reverse("", dep, 10_000, "Erreur de saisie"); r.Status != 201 {
		f.T.Fatalf("reversal: %d %s", r.Status, r.Body)
	}
	f.Settle(f.Hold(s.wallet, 5_000, "EUR"))
	f.Clock.Advance(24 * time.Hour)
	s.to = f.Clock.Now()
	f.Clock.Advance(time.Hour)
	f.Deposit(s.wallet, 7_000, "EUR")
	return s
}

func (f *fixture) mustTransfer(u testkit.User, from int64, to string, amount int64, note string) {
	f.T.Helper()
	b := body(from, to, amount, "EUR")
	b["note"] = note
	if r := f.transfer(u, randKey(), b); r.Status != 201 {
		f.T.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
}

// The JSON statement: the opening balance is the balance at `from`, each movement's running
// balance follows from the previous one and is the ledger's own balance after that entry (the
// history's), opening + movements = closing, and the totals and count add up.
func TestStatementJSONAddsUp(t *testing.T) {
	f := newFixture(t)
	s := newStatementStory(f)
	st := f.statement(s.owner, s.wallet, s.from, s.to)
	if st.Holder != "Élodie N'Diaye-Hounkpè" || st.Currency != "EUR" || st.Exponent != 2 || st.WalletId != s.wallet ||
		!strings.HasPrefix(st.Reference, "FX") || st.From != apiTS(s.from) || st.To != apiTS(s.to) {
		t.Fatalf("statement header: %+v", st)
	}
	if st.OpeningBalance != 147_500 {
		t.Fatalf("opening %d, want 147500 (the deposit less the transfer before the period)", st.OpeningBalance)
	}
	want := []int64{123_456, -99, -10_000, -5_000}
	checkStatementChain(t, st, want)
	hist := map[int64]api.HistoryItem{}
	for _, h := range f.history(s.owner, s.wallet) {
		hist[h.TransactionId] = h
	}
	for _, m := range st.Movements {
		if h := hist[m.TransactionId]; !testkit.Is(h.BalanceAfter, m.BalanceAfter) || h.Amount != m.Amount || h.Kind != m.Kind {
			t.Errorf("movement %+v; history says %+v", m, h)
		}
	}
	if m := st.Movements[0]; !testkit.Is(m.Counterparty, s.peer.Username) || !testkit.Is(m.Note, s.hyperlink) {
		t.Errorf("transfer in: %+v", m)
	}
	if m := st.Movements[2]; m.Kind != api.TransactionKindReversal || m.ReversesId == nil || !testkit.Is(m.Note, "Erreur de saisie") || m.Counterparty != nil {
		t.Errorf("reversal: %+v", m)
	}
	// Consecutive statements chain, and the whole history adds up to the wallet's balance.
	if prev := f.statement(s.owner, s.wallet, s.before, s.from); prev.ClosingBalance != st.OpeningBalance || prev.OpeningBalance != 0 || prev.Count != 2 {
		t.Fatalf("the previous period closes at %d (opening %d, %d movements); this one opens at %d", prev.ClosingBalance, prev.OpeningBalance, prev.Count, st.OpeningBalance)
	}
	if all := f.statement(s.owner, s.wallet, s.before, f.Clock.Now().Add(time.Second)); all.ClosingBalance != f.Balance(s.wallet) || all.Count != 7 {
		t.Fatalf("everything: closing %d, %d movements; balance %d", all.ClosingBalance, all.Count, f.Balance(s.wallet))
	}
}

// checkStatementChain checks a statement's movements against the expected amounts and its sums.
func checkStatementChain(t *testing.T, st api.Statement, amounts []int64) {
	t.Helper()
	if st.Count != len(amounts) || len(st.Movements) != len(amounts) {
		t.Fatalf("%d movements (count %d), want %d: %+v", len(st.Movements), st.Count, len(amounts), st.Movements)
	}
	bal, in, out := st.OpeningBalance, int64(0), int64(0)
	for i, m := range st.Movements {
		if m.Amount != amounts[i] {
			t.Errorf("movement %d: amount %d, want %d", i, m.Amount, amounts[i])
		}
		bal += m.Amount
		if m.BalanceAfter != bal {
			t.Errorf("movement %d: balance_after %d, want the previous %d plus %d", i, m.BalanceAfter, bal-m.Amount, m.Amount)
		}
		if m.Amount > 0 {
			in += m.Amount
		} else {
			out -= m.Amount
		}
	}
	if st.ClosingBalance != bal || st.TotalIn != in || st.TotalOut != out || st.OpeningBalance+st.TotalIn-st.TotalOut != st.ClosingBalance {
		t.Fatalf("closing %d (want %d), in %d (want %d), out %d (want %d)", st.ClosingBalance, bal, st.TotalIn, in, st.TotalOut, out)
	}
}

func apiTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// The CSV statement, parsed back, is the JSON one: RFC 4180 with CRLF and a header row, amounts
// in major units with a '.', dates in ISO 8601 UTC, and the cells a spreadsheet would evaluate
// (a formula as a note, a note starting with '+') neutralized, while negative amounts stay numbers.
func TestStatementCSVEqualsJSON(t *testing.T) {
	f := newFixture(t)
	s := newStatementStory(f)
	st := f.statement(s.owner, s.wallet, s.from, s.to)
	r := f.statementReq(s.owner, s.wallet, rfc3339(s.from), rfc3339(s.to), "text/csv", "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), fmt.Sprintf(`attachment; filename="statement-%d-`, s.wallet)) {
		t.Fatalf("csv: %d %v", r.Status, r.Header)
	}
	if !bytes.HasPrefix(r.Body, []byte("booked_at,transaction_id,kind,counterparty,note,reverses_id,amount,balance_after,currency\r\n")) ||
		bytes.Count(r.Body, []byte("\r\n")) != len(st.Movements)+1 {
		t.Fatalf("csv lines: %q", r.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	neutral := map[string]string{s.hyperlink: "'" + s.hyperlink, "+33 6 12 34 56 78": "'+33 6 12 34 56 78"}
	for i, m := range st.Movements {
		row := rows[i+1]
		note := ptrOr(m.Note)
		if n, ok := neutral[note]; ok {
			note = n
		}
		rev := ""
		if m.ReversesId != nil {
			rev = fmtInt(*m.ReversesId)
		}
		want := []string{m.BookedAt, fmtInt(m.TransactionId), string(m.Kind), ptrOr(m.Counterparty), note, rev}
		if !slices.Equal(row[:6], want) || minorOf(t, row[6]) != m.Amount || minorOf(t, row[7]) != m.BalanceAfter || row[8] != "EUR" {
			t.Errorf("row %d: %q; JSON %+v", i+1, row, m)
		}
	}
	if rows[1][4] != `'=HYPERLINK("https://evil.example/?q=1","Cliquez ici")` || rows[2][6] != "-0.99" || rows[1][6] != "1234.56" {
		t.Errorf("neutralization or amounts: %q", rows[1:3])
	}
	// A statement's CSV of an earlier period keeps the note with a line break and quotes intact.
	prev := f.statementReq(s.owner, s.wallet, rfc3339(s.before), rfc3339(s.from), "text/csv", "")
	if rows, err := csv.NewReader(bytes.NewReader(prev.Body)).ReadAll(); err != nil || rows[2][4] != "Dîner, \"chez Léa\"\nmerci" {
		t.Errorf("multi-line note: %v %q", err, prev.Body)
	}
}

func ptrOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// minorOf parses a CSV amount in major units of a 2-digit currency back to minor units.
func minorOf(t *testing.T, s string) int64 {
	t.Helper()
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 {
		t.Fatalf("amount %q: not major units with 2 decimals", s)
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return n
}

// The PDF statement, in French (the default) and in English: its text, extracted by pdftotext,
// has the bank, the holder's accented name, the reference, the opening and closing balances and
// one line per movement with its date, amount and running balance in the language's format, and
// page numbers.
func TestStatementPDFInFrenchAndEnglish(t *testing.T) {
	f := newFixture(t)
	s := newStatementStory(f)
	st := f.statement(s.owner, s.wallet, s.from, s.to)
	for _, c := range []struct{ lang, title, opening, closing, page string }{
		{"fr", "Relevé de compte", "Solde d'ouverture", "Solde de clôture", "Page 1 sur 1"},
		{"en", "Account statement", "Opening balance", "Closing balance", "Page 1 of 1"},
	} {
		lang := c.lang
		if lang == "fr" {
			lang = "" // the user's locale
		}
		r := f.statementReq(s.owner, s.wallet, rfc3339(s.from), rfc3339(s.to), "application/pdf", lang)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) ||
			!strings.HasSuffix(r.Header.Get("Content-Disposition"), `.pdf"`) {
			t.Fatalf("%s pdf: %d %v", c.lang, r.Status, r.Header)
		}
		text := testkit.PDFText(t, r.Body)
		if !strings.Contains(text, "· "+c.page+"\n") {
			t.Errorf("%s: no page number %q in:\n%s", c.lang, c.page, text)
		}
		for _, want := range []string{"Flowxi", c.title, "Élodie N'Diaye-Hounkpè", groupBy4(st.Reference),
			c.opening + " " + humanMoney(c.lang, st.OpeningBalance), c.closing + " " + humanMoney(c.lang, st.ClosingBalance)} {
			if !containsSpaced(text, want) {
				t.Errorf("%s: %q not in the PDF's text:\n%s", c.lang, want, text)
			}
		}
		for _, m := range st.Movements {
			if !hasLine(text, humanTime(c.lang, m.BookedAt), humanMoney(c.lang, m.Amount), humanMoney(c.lang, m.BalanceAfter)) {
				t.Errorf("%s: no line for movement %+v in:\n%s", c.lang, m, text)
			}
		}
	}
}

// containsSpaced says whether text contains want, runs of spaces counting as one.
func containsSpaced(text, want string) bool {
	return strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " "))
}

// hasLine says whether one line of text holds every part.
func hasLine(text string, parts ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && containsSpaced(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func groupBy4(s string) string {
	var out []string
	for len(s) > 4 {
		out, s = append(out, s[:4]), s[4:]
	}
	return strings.Join(append(out, s), " ")
}

// humanMoney is the test's own rendering of an EUR amount: fr "-1 234,56 €", en "-€1,234.56".
func humanMoney(lang string, minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	whole, cents := fmtInt(minor/100), fmt.Sprintf("%02d", minor%100)
	sep, point := ",", "."
	if lang == "fr" {
		sep, point = " ", ","
	}
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + sep + whole[i:]
	}
	if lang == "fr" {
		return sign + whole + point + cents + " €"
	}
	return sign + "€" + whole + point + cents
}

func humanTime(lang, v string) string {
	t, _ := time.Parse(time.RFC3339Nano, v)
	if lang == "fr" {
		return t.Format("02/01/2006 15:04")
	}
	return t.Format("Jan 2, 2006 15:04")
}

// A period without movements is a valid statement in every form; bad periods are 422 naming
// the field; another user's wallet is 404; Accept chooses the form (406 when it names none).
func TestStatementEmptyPeriodValidationAndNegotiation(t *testing.T) {
	f := newFixture(t)
	u, other := f.CreateUser(), f.CreateUser()
	w := f.Wallet(u, "EUR")
	f.Deposit(w, 4_200, "EUR")
	f.Clock.Advance(time.Hour)
	from := f.Clock.Now()
	f.Clock.Advance(time.Hour)
	to := f.Clock.Now()
	st := f.statement(u, w, from, to)
	if st.Count != 0 || len(st.Movements) != 0 || st.OpeningBalance != 4_200 || st.ClosingBalance != 4_200 || st.TotalIn != 0 || st.TotalOut != 0 {
		t.Fatalf("empty period: %+v", st)
	}
	if r := f.statementReq(u, w, rfc3339(from), rfc3339(to), "text/csv", ""); r.Status != 200 || bytes.Count(r.Body, []byte("\r\n")) != 1 {
		t.Fatalf("empty csv: %d %q", r.Status, r.Body)
	}
	r := f.statementReq(u, w, rfc3339(from), rfc3339(to), "application/pdf", "")
	if text := testkit.PDFText(t, r.Body); !strings.Contains(text, "Aucun mouvement sur la période.") || !containsSpaced(text, "Solde de clôture 42,00 €") {
		t.Fatalf("empty pdf:\n%s", text)
	}
	// An offset is accepted and the period is answered in UTC.
	paris := time.FixedZone("Paris", 2*3600)
	if st := f.statement(u, w, from.In(paris), to.In(paris)); st.From != apiTS(from) || st.OpeningBalance != 4_200 {
		t.Fatalf("period with an offset: %+v", st)
	}
	f.statementCases(u, other, w, from, to)
}

// statementCases runs the refusals and the content negotiation of a statement.
func (f *fixture) statementCases(u, other testkit.User, w int64, from, to time.Time) {
	t := f.T
	for _, c := range []struct {
		name, from, to, field string
	}{
		{"to before from", rfc3339(to), rfc3339(from), "to"},
		{"empty period", rfc3339(from), rfc3339(from), "to"},
		{"over 366 days", rfc3339(from), rfc3339(from.Add(367 * 24 * time.Hour)), "to"},
		{"malformed from", "2026-13-01T00:00:00Z", rfc3339(to), "from"},
		{"date without time", "2026-01-01", rfc3339(to), "from"},
		{"missing to", rfc3339(from), "", "to"},
	} {
		r := f.statementReq(u, w, c.from, c.to, "", "en")
		if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || r.Errors()[c.field] == nil {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	if r := f.statementReq(u, w, rfc3339(from), rfc3339(from.Add(366*24*time.Hour)), "", ""); r.Status != 200 {
		t.Errorf("a 366-day period: %d %s", r.Status, r.Body)
	}
	if r := f.statementReq(other, w, rfc3339(from), rfc3339(to), "", ""); r.Status != 404 || r.Code() != "WALLET_NOT_FOUND" {
		t.Errorf("another user's wallet: %d %s", r.Status, r.Body)
	}
	for accept, want := range map[string]string{
		"": "application/json", "*/*": "application/json", "text/*": "text/csv; charset=utf-8",
		"application/json;q=0.5, application/pdf": "application/pdf", "text/csv;q=0.9, */*;q=0.1": "text/csv; charset=utf-8",
		"text/html, application/*;q=0.2": "application/json",
	} {
		if r := f.statementReq(u, w, rfc3339(from), rfc3339(to), accept, ""); r.Status != 200 || r.Header.Get("Content-Type") != want {
			t.Errorf("Accept %q: %d %s", accept, r.Status, r.Header.Get("Content-Type"))
		}
	}
	for _, accept := range []string{"text/html", "application/json;q=0, text/plain"} {
		if r := f.statementReq(u, w, rfc3339(from), rfc3339(to), accept, "en"); r.Status != 406 || r.Code() != "NOT_ACCEPTABLE" {
			t.Errorf("Accept %q: %d %s", accept, r.Status, r.Body)
		}
	}
}

// Under concurrent credits and debits the movements of a statement are in posting order:
// each running balance is the ledger's own balance after that entry, the PDF runs over several
// numbered pages and lists every movement.
func TestStatementInPostingOrderUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser(testkit.WithLocale("en"))
	w := f.Wallet(u, "EUR")
	from := f.Clock.Now()
	f.Deposit(w, 100_000, "EUR")
	senders := make([]testkit.User, 4)
	wallets := make([]int64, 4)
	for i := range senders {
		senders[i], wallets[i] = f.funded("EUR", 1_000_000)
	}
	peer := f.CreateUser()
	f.Wallet(peer, "EUR")
	inParallel(120, 12, func(i int) {
		if i%3 == 0 {
			f.mustTransfer(u, w, peer.Username, int64(100+i), fmt.Sprintf("out %d", i))
			return
		}
		f.mustTransfer(senders[i%4], wallets[i%4], u.Username, int64(1_000+i), fmt.Sprintf("in %d", i))
	})
	to := f.Clock.Now().Add(time.Second)
	st := f.statement(u, w, from, to)
	if st.Count != 121 || st.OpeningBalance != 0 || st.ClosingBalance != f.Balance(w) {
		t.Fatalf("%d movements, opening %d, closing %d (balance %d)", st.Count, st.OpeningBalance, st.ClosingBalance, f.Balance(w))
	}
	hist := map[int64]int64{}
	r := f.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/wallets/%d/transactions?limit=100", w), Token: u.Token})
	for page := testkit.Decode[api.HistoryResponse](t, r).Data; ; {
		for _, h := range page.Items {
			if h.BalanceAfter != nil {
				hist[h.TransactionId] = *h.BalanceAfter
			}
		}
		if page.NextCursor == nil {
			break
		}
		r = f.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/wallets/%d/transactions?limit=100&cursor=%s", w, *page.NextCursor), Token: u.Token})
		page = testkit.Decode[api.HistoryResponse](t, r).Data
	}
	bal := int64(0)
	for _, m := range st.Movements {
		bal += m.Amount
		if m.BalanceAfter != bal || hist[m.TransactionId] != bal {
			t.Fatalf("movement %d: running %d, statement %d, ledger %d", m.TransactionId, bal, m.BalanceAfter, hist[m.TransactionId])
		}
	}
	pdf := f.statementReq(u, w, rfc3339(from), rfc3339(to), "application/pdf", "")
	text := testkit.PDFText(t, pdf.Body)
	pages := strings.Count(text, "\f") // pdftotext ends every page with a form feed
	for i := 1; i <= pages; i++ {
		if !strings.Contains(text, fmt.Sprintf("· Page %d of %d\n", i, pages)) {
			t.Errorf("page %d of %d is not numbered: %s", i, pages, text)
		}
	}
	if pages < 3 {
		t.Errorf("%d pages for %d movements", pages, st.Count)
	}
	for _, m := range st.Movements {
		if !hasLine(text, humanTime("en", m.BookedAt), humanMoney("en", m.Amount), humanMoney("en", m.BalanceAfter)) {
			t.Errorf("no line for %+v", m)
		}
	}
	f.invariants()
}

// A period with more movements than a statement lists is 422 on `to` (planted entries: ten
// thousand transfers would take minutes).
func TestStatementOfTooBusyAPeriodIsRefused(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser()
	w := f.Wallet(u, "EUR")
	from := f.Clock.Now()
	t.Cleanup(func() {
		f.asSuperuser("DELETE FROM ledger_entries WHERE account_id = "+fmtInt(w), "DELETE FROM ledger_transactions WHERE initiator_id = 'planted-busy'",
			"UPDATE ledger_accounts SET balance = 0, version = 0, last_hash = '\\x0000000000000000000000000000000000000000000000000000000000000000' WHERE id = "+fmtInt(w))
		f.invariants()
	})
	var tx int64
	f.Scan(`INSERT INTO ledger_transactions (kind, status, currency, amount, from_account_id, to_account_id, initiator_type, initiator_id,
		created_at) VALUES ('deposit', 'posted', 'EUR', 1, NULL, $1, 'internal_key', 'planted-busy', $2) RETURNING id`, []any{w, from}, &tx)
	f.ExecSQL(`INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after, version, prev_hash, hash, created_at)
		SELECT $1, $2, 1, v, v, '\x00', '\x00', $3::timestamptz + v * interval '1 millisecond' FROM generate_series(1, $4::int) v`,
		tx, w, from, ledger.MaxStatementMovements+1)
	r := f.statementReq(u, w, rfc3339(from), rfc3339(from.Add(time.Hour)), "", "en")
	if r.Status != 422 || r.Errors()["to"] == nil {
		t.Fatalf("%d movements: %d %s", ledger.MaxStatementMovements+1, r.Status, r.Body)
	}
	if st := f.statement(u, w, from, from.Add(time.Duration(ledger.MaxStatementMovements)*time.Millisecond+time.Microsecond)); st.Count != ledger.MaxStatementMovements {
		t.Fatalf("exactly the most movements: %d", st.Count)
	}
}
