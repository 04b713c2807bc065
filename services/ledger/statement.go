package ledger

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/kit/reqctx"
)

// Statements: a wallet's posted movements over a half-open period [from, to), in posting order
// (the wallet's entry version), with the opening balance, the running balance after each
// movement and the closing balance, as JSON, CSV (statement_csv.go) or PDF (statement_pdf.go).
//
// A period is cut by the instants entries were posted. The posting engine never stamps an
// entry before the last posting of its account (batch.lockAccounts), so the entries of a period
// are a run of consecutive versions: the first one's balance before it is the opening balance,
// each balance follows from the previous one, and one period's closing balance is the next
// one's opening.

const (
	// MaxStatementDays is the longest period of a statement.
	MaxStatementDays = 366
	// MaxStatementMovements is the most movements one statement lists; a busier period is 422.
	MaxStatementMovements = 10_000
)

// ErrNotAcceptable: the Accept header names none of the forms of the statement.
var ErrNotAcceptable = apierr.New(http.StatusNotAcceptable, "NOT_ACCEPTABLE")

// statementMedia are the statement's forms, in the order that breaks a tie of preference.
var statementMedia = []string{"application/json", "text/csv", "application/pdf"}

// GetWalletStatement returns the statement of one of the caller's wallets in the media type
// the Accept header prefers.
func (s *Service) GetWalletStatement(ctx context.Context, req api.GetWalletStatementRequestObject) (api.GetWalletStatementResponseObject, error) {
	p := reqctx.PrincipalFrom(ctx)
	if p == nil {
		return nil, apierr.ErrUnauthenticated
	}
	media := negotiate(reqctx.From(ctx).Accept, statementMedia)
	if media == "" {
		return nil, ErrNotAcceptable
	}
	from, to := req.Params.From.UTC(), req.Params.To.UTC()
	switch {
	case !from.Before(to):
		return nil, apierr.Invalid("to", "period_order")
	case to.Sub(from) > MaxStatementDays*24*time.Hour:
		return nil, apierr.Invalid("to", "period_length", strconv.Itoa(MaxStatementDays))
	}
	st, err := s.statement(ctx, p.UserID, req.Id, from, to)
	if err != nil {
		return nil, err
	}
	switch media {
	case "text/csv":
		b := statementCSV(st)
		return api.GetWalletStatement200TextcsvCharsetUtf8Response{Body: bytes.NewReader(b), ContentLength: int64(len(b)),
			Headers: api.GetWalletStatement200ResponseHeaders{ContentDisposition: attachment(st, "csv")}}, nil
	case "application/pdf":
		b, err := statementPDF(i18n.Lang(ctx), st)
		if err != nil {
			return nil, err
		}
		return api.GetWalletStatement200ApplicationpdfResponse{Body: bytes.NewReader(b), ContentLength: int64(len(b)),
			Headers: api.GetWalletStatement200ResponseHeaders{ContentDisposition: attachment(st, "pdf")}}, nil
	}
	return api.GetWalletStatement200JSONResponse{Body: api.StatementResponse{Code: "STATEMENT_OK", Message: i18n.Msg(ctx, "STATEMENT_OK"), Data: st}}, nil
}

// statement reads the wallet's movements of [from, to) and adds up its balances.
func (s *Service) statement(ctx context.Context, userID, walletID int64, from, to time.Time) (api.Statement, error) {
	w, err := s.st.Q.GetStatementWallet(ctx, db.GetStatementWalletParams{ID: walletID, UserID: &userID})
	if err != nil {
		if pg.IsNotFound(err) {
			return api.Statement{}, ErrWalletNotFound
		}
		return api.Statement{}, fmt.Errorf("ledger: statement wallet: %w", err)
	}
	rows, err := s.st.Q.ListStatementEntries(ctx, db.ListStatementEntriesParams{AccountID: walletID, FromAt: from, ToAt: to, Lim: MaxStatementMovements + 1})
	if err != nil {
		return api.Statement{}, fmt.Errorf("ledger: statement entries: %w", err)
	}
	if len(rows) > MaxStatementMovements {
		return api.Statement{}, apierr.Invalid("to", "statement_size", strconv.Itoa(MaxStatementMovements))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Version < rows[j].Version })
	st := api.Statement{WalletId: w.ID, Reference: walletReference(w.Currency, w.ID), Holder: holderOf(w), Currency: w.Currency,
		Exponent: exponentOf(w.Currency), From: ts(from), To: ts(to), GeneratedAt: ts(s.clock.Now()), Movements: make([]api.StatementMovement, 0, len(rows))}
	if len(rows) > 0 {
		st.OpeningBalance = rows[0].BalanceAfter - rows[0].Amount
	} else if st.OpeningBalance, err = s.st.Q.StatementOpening(ctx, db.StatementOpeningParams{AccountID: walletID, FromAt: from}); err != nil {
		return api.Statement{}, fmt.Errorf("ledger: statement opening: %w", err)
	}
	bal := st.OpeningBalance
	for _, r := range rows {
		bal += r.Amount
		if r.Amount > 0 {
			st.TotalIn += r.Amount
		} else {
			st.TotalOut -= r.Amount
		}
		st.Movements = append(st.Movements, api.StatementMovement{TransactionId: r.TransactionID, Kind: api.TransactionKind(r.Kind),
			Amount: r.Amount, BalanceAfter: bal, Counterparty: r.Counterparty, Note: r.Note, ReversesId: r.ReversesID, BookedAt: ts(r.CreatedAt)})
	}
	st.ClosingBalance, st.Count = bal, len(st.Movements)
	return st, nil
}

// holderOf is the name a statement is made out to: the profile's names, or the username.
func holderOf(w db.GetStatementWalletRow) string {
	name := strings.TrimSpace(strings.TrimSpace(ptr.Value(w.FirstName)) + " " + strings.TrimSpace(ptr.Value(w.LastName)))
	if name == "" {
		return ptr.Value(w.Username)
	}
	return name
}

// attachment is the Content-Disposition of a downloaded statement.
func attachment(st api.Statement, ext string) *string {
	day := func(v string) string { return strings.ReplaceAll(v[:10], "-", "") }
	v := fmt.Sprintf(`attachment; filename="statement-%d-%s-%s.%s"`, st.WalletId, day(st.From), day(st.To), ext)
	return &v
}

// negotiate returns the offer the Accept header prefers (RFC 9110 §12.5.1: an offer weighs the
// q of the most specific range that matches it; q=0 refuses it; a tie goes to the earlier
// offer), the first offer when there is no Accept header, or "" when it accepts none.
func negotiate(accept string, offers []string) string {
	if strings.TrimSpace(accept) == "" {
		return offers[0]
	}
	best, bestQ := "", 0.0
	for _, o := range offers {
		q, spec := 0.0, -1
		for _, part := range strings.Split(accept, ",") {
			mt, params, _ := strings.Cut(part, ";")
			s := specificity(strings.ToLower(strings.TrimSpace(mt)), o)
			if s > spec {
				spec, q = s, weight(params)
			}
		}
		if q > bestQ {
			best, bestQ = o, q
		}
	}
	return best
}

// specificity says how a media range matches an offer: 2 exactly, 1 by its type (text/*), 0 as
// */*, -1 not at all.
func specificity(mediaRange, offer string) int {
	typ, _, _ := strings.Cut(offer, "/")
	switch mediaRange {
	case offer:
		return 2
	case typ + "/*":
		return 1
	case "*/*":
		return 0
	}
	return -1
}

// weight is the q parameter of a media range (1 when absent, 0 when malformed).
func weight(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				return 0
			}
			return q
		}
	}
	return 1
}
