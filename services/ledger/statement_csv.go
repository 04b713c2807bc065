package ledger

import (
	"bytes"
	"encoding/csv"
	"regexp"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
)

// StatementCSVHeader is the header row of a CSV statement.
var StatementCSVHeader = []string{"booked_at", "transaction_id", "kind", "counterparty", "note", "reverses_id", "amount", "balance_after", "currency"}

// statementCSV writes a statement as RFC 4180 CSV (CRLF, a header row, quoted where needed),
// amounts in major units, every cell neutralized against formula injection.
func statementCSV(st api.Statement) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.Write(StatementCSVHeader) // a bytes.Buffer never fails
	for _, m := range st.Movements {
		rev := ""
		if m.ReversesId != nil {
			rev = itoa(*m.ReversesId)
		}
		rec := []string{m.BookedAt, itoa(m.TransactionId), string(m.Kind), ptr.Value(m.Counterparty), ptr.Value(m.Note), rev,
			majorUnits(m.Amount, st.Exponent), majorUnits(m.BalanceAfter, st.Exponent), st.Currency}
		for i := range rec {
			rec[i] = NeutralizeCell(rec[i])
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return b.Bytes()
}

// decimalNumber is a cell that is exactly a number: no spreadsheet evaluates it as a formula.
var decimalNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// NeutralizeCell defuses spreadsheet formula injection (OWASP "CSV injection"): a cell that
// begins with =, +, -, @, a tab or a carriage return is prefixed with a single quote, so that a
// spreadsheet shows it as text. A cell that is exactly a decimal number ("-25.00") is kept: it
// is a number, not a formula, and the amounts of a statement must stay numbers.
func NeutralizeCell(s string) string {
	if s == "" || decimalNumber.MatchString(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
