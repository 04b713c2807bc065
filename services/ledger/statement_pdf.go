package ledger

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/ptr"
)

// The PDF statement, printed with go-pdf/fpdf in the request's language. The Go fonts
// (golang.org/x/image/font/gofont, compiled into the binary) are embedded as UTF-8 subsets, so
// accented names print and nothing is read from the filesystem.

// BankName heads every statement.
const BankName = "Flowxi"

const (
	pdfFont    = "go"
	pagesAlias = "{nb}"
	rowHeight  = 6.0
)

// pdfColumns are the widths (mm) of the movements table: date, description, amount, balance.
var pdfColumns = [4]float64{32, 88, 30, 30}

// statementDoc is one PDF being written.
type statementDoc struct {
	pdf     *fpdf.Fpdf
	lang    string
	st      api.Statement
	inTable bool // a new page repeats the table's header
}

// statementPDF prints a statement in lang (fr or en).
func statementPDF(lang string, st api.Statement) ([]byte, error) {
	d := &statementDoc{pdf: fpdf.New("P", "mm", "A4", ""), lang: lang, st: st}
	pdf := d.pdf
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(pdfFont, "B", gobold.TTF)
	pdf.SetTitle(d.label("title")+" "+st.Reference, true)
	pdf.SetAuthor(BankName, true)
	pdf.SetCreator(BankName, true)
	if at, err := time.Parse(time.RFC3339Nano, st.GeneratedAt); err == nil {
		pdf.SetCreationDate(at)
		pdf.SetModificationDate(at)
	}
	pdf.AliasNbPages(pagesAlias)
	pdf.SetHeaderFunc(func() {
		if d.inTable {
			d.tableHeader()
		}
	})
	pdf.SetFooterFunc(d.footer)
	pdf.AddPage()
	d.heading()
	d.summary()
	d.movements()
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("ledger: statement pdf: %w", err)
	}
	return b.Bytes(), nil
}

// label is a text of the statement in the document's language.
func (d *statementDoc) label(key string) string { return i18n.Text(d.lang, "STATEMENT_OK.pdf."+key) }

// amount formats minor units of the statement's currency for the document's language.
func (d *statementDoc) amount(minor int64) string {
	return money(d.lang, minor, d.st.Currency, d.st.Exponent)
}

// heading prints the bank, the title and who and what the statement is for.
func (d *statementDoc) heading() {
	pdf, st := d.pdf, d.st
	pdf.SetFont(pdfFont, "B", 18)
	pdf.CellFormat(0, 9, BankName, "", 1, "L", false, 0, "")
	pdf.SetFont(pdfFont, "B", 13)
	pdf.CellFormat(0, 8, d.label("title"), "", 1, "L", false, 0, "")
	pdf.Ln(2)
	period := strings.NewReplacer(":from", humanDate(d.lang, st.From), ":to", humanDate(d.lang, st.To)).Replace(d.label("period_range"))
	for _, kv := range [][2]string{
		{d.label("holder"), st.Holder},
		{d.label("reference"), groupedReference(st.Reference)},
		{d.label("currency"), st.Currency},
		{d.label("period"), period},
		{d.label("generated"), humanDate(d.lang, st.GeneratedAt)},
	} {
		d.keyValue(kv[0], kv[1])
	}
	pdf.Ln(3)
}

// summary prints the balances and totals of the period.
func (d *statementDoc) summary() {
	st := d.st
	for _, kv := range [][2]string{
		{d.label("opening"), d.amount(st.OpeningBalance)},
		{d.label("total_in"), d.amount(st.TotalIn)},
		{d.label("total_out"), d.amount(st.TotalOut)},
		{d.label("closing"), d.amount(st.ClosingBalance)},
		{d.label("count"), fmt.Sprint(st.Count)},
	} {
		d.keyValue(kv[0], kv[1])
	}
	d.pdf.Ln(4)
}

func (d *statementDoc) keyValue(k, v string) {
	d.pdf.SetFont(pdfFont, "B", 10)
	d.pdf.CellFormat(55, rowHeight, k, "", 0, "L", false, 0, "")
	d.pdf.SetFont(pdfFont, "", 10)
	d.pdf.CellFormat(0, rowHeight, v, "", 1, "L", false, 0, "")
}

// movements prints the table of movements (or says there is none).
func (d *statementDoc) movements() {
	pdf := d.pdf
	if len(d.st.Movements) == 0 {
		pdf.SetFont(pdfFont, "", 10)
		pdf.CellFormat(0, rowHeight, d.label("empty"), "", 1, "L", false, 0, "")
		return
	}
	d.tableHeader()
	d.inTable = true
	pdf.SetDrawColor(210, 210, 210)
	for _, m := range d.st.Movements {
		pdf.SetFont(pdfFont, "", 9)
		cells := [4]string{humanDate(d.lang, m.BookedAt), d.fit(d.describe(m), pdfColumns[1]-2), d.amount(m.Amount), d.amount(m.BalanceAfter)}
		for i, c := range cells {
			align := "R"
			if i < 2 {
				align = "L"
			}
			ln := 0
			if i == len(cells)-1 {
				ln = 1
			}
			pdf.CellFormat(pdfColumns[i], rowHeight, c, "B", ln, align, false, 0, "")
		}
	}
}

// tableHeader prints the column titles (on the first page of the table and every next one).
func (d *statementDoc) tableHeader() {
	pdf := d.pdf
	pdf.SetFont(pdfFont, "B", 9)
	pdf.SetFillColor(235, 235, 235)
	for i, k := range []string{"col_date", "col_description", "col_amount", "col_balance"} {
		align := "R"
		if i < 2 {
			align = "L"
		}
		ln := 0
		if i == 3 {
			ln = 1
		}
		pdf.CellFormat(pdfColumns[i], rowHeight+1, d.label(k), "", ln, align, true, 0, "")
	}
}

// footer prints the bank, the wallet reference and the page number on every page.
func (d *statementDoc) footer() {
	pdf := d.pdf
	pdf.SetY(-15)
	pdf.SetFont(pdfFont, "", 8)
	// ":pages" first: a Replacer tries its pairs in order, and ":page" is its prefix.
	page := strings.NewReplacer(":pages", pagesAlias, ":page", fmt.Sprint(pdf.PageNo())).Replace(d.label("page"))
	pdf.CellFormat(0, 8, BankName+" · "+groupedReference(d.st.Reference)+" · "+page, "", 0, "C", false, 0, "")
}

// describe is a movement's line: what it was, with whom, and its note.
func (d *statementDoc) describe(m api.StatementMovement) string {
	key := string(m.Kind)
	switch {
	case m.Kind == api.TransactionKindTransfer && m.Counterparty != nil && m.Amount > 0:
		key = "transfer_in"
	case m.Kind == api.TransactionKindTransfer && m.Counterparty != nil:
		key = "transfer_out"
	}
	rev := ""
	if m.ReversesId != nil {
		rev = itoa(*m.ReversesId)
	}
	s := strings.NewReplacer(":who", ptr.Value(m.Counterparty), ":id", rev).Replace(i18n.Text(d.lang, "STATEMENT_OK.kind."+key))
	if note := strings.Join(strings.Fields(ptr.Value(m.Note)), " "); note != "" {
		s += " — " + note
	}
	return s
}

// fit shortens s with an ellipsis until it is at most w mm wide in the current font.
func (d *statementDoc) fit(s string, w float64) string {
	if d.pdf.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // the longest prefix that fits is in [lo, hi)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if d.pdf.GetStringWidth(string(r[:mid])+"…") <= w {
			lo = mid
		} else {
			hi = mid
		}
	}
	return string(r[:lo]) + "…"
}
