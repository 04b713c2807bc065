package ledger

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestMoneyForPeopleAndMachines(t *testing.T) {
	for _, c := range []struct {
		minor          int64
		currency       string
		exp            int
		fr, en, majors string
	}{
		{123456, "EUR", 2, "1 234,56 €", "€1,234.56", "1234.56"},
		{-2500, "EUR", 2, "-25,00 €", "-€25.00", "-25.00"},
		{5, "EUR", 2, "0,05 €", "€0.05", "0.05"},
		{0, "USD", 2, "0,00 $", "$0.00", "0.00"},
		{1234567, "XOF", 0, "1 234 567 XOF", "XOF 1,234,567", "1234567"},
		{-100, "XOF", 0, "-100 XOF", "-XOF 100", "-100"},
		{math.MinInt64, "EUR", 2, "-92 233 720 368 547 758,08 €", "-€92,233,720,368,547,758.08", "-92233720368547758.08"},
	} {
		fr := strings.ReplaceAll(money("fr", c.minor, c.currency, c.exp), nbsp, " ")
		if en := money("en", c.minor, c.currency, c.exp); fr != c.fr || strings.ReplaceAll(en, nbsp, " ") != c.en {
			t.Errorf("%d %s: fr %q en %q", c.minor, c.currency, fr, en)
		}
		if m := majorUnits(c.minor, c.exp); m != c.majors {
			t.Errorf("%d %s: major units %q, want %q", c.minor, c.currency, m, c.majors)
		}
	}
}

// A wallet reference checks like an IBAN: moved to the end with its letters as numbers, it is
// 1 modulo 97, and a changed digit breaks it.
func TestWalletReferenceHasIBANCheckDigits(t *testing.T) {
	valid := func(ref string) bool {
		var digits strings.Builder
		for _, r := range ref[4:] + ref[:4] {
			if r >= 'A' && r <= 'Z' {
				digits.WriteString(big.NewInt(int64(r-'A') + 10).String())
			} else {
				digits.WriteRune(r)
			}
		}
		n, _ := new(big.Int).SetString(digits.String(), 10)
		return new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
	}
	for _, id := range []int64{1, 42, 999_999_999_999} {
		ref := walletReference("EUR", id)
		if len(ref) != 19 || !strings.HasPrefix(ref, "FX") || !valid(ref) {
			t.Errorf("%d: %s", id, ref)
		}
		typo := ref[:len(ref)-1] + string('0'+(ref[len(ref)-1]-'0'+1)%10)
		if valid(typo) {
			t.Errorf("%s: a changed digit still checks", typo)
		}
	}
	if g := groupedReference("FX45EUR000000000042"); g != "FX45 EUR0 0000 0000 042" {
		t.Errorf("grouped: %q", g)
	}
}

func TestNeutralizeCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"Dinner":                 "Dinner",
		"=HYPERLINK(\"x\")":      "'=HYPERLINK(\"x\")",
		"+33 6 12":               "'+33 6 12",
		"-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
		"@SUM(A1)":               "'@SUM(A1)",
		"\tindented":             "'\tindented",
		"\rreturn":               "'\rreturn",
		"-25.00":                 "-25.00",
		"-5":                     "-5",
		"1234.56":                "1234.56",
		"-1e5":                   "'-1e5",
		"- 5":                    "'- 5",
		"a=b":                    "a=b",
	} {
		if got := NeutralizeCell(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for accept, want := range map[string]string{
		"":                                      "application/json",
		"*/*":                                   "application/json",
		"application/pdf":                       "application/pdf",
		"TEXT/CSV":                              "text/csv",
		"text/*, application/json;q=0.5":        "text/csv",
		"application/*":                         "application/json",
		"application/pdf;q=0.8, text/csv;q=0.9": "text/csv",
		"*/*;q=0.1, application/pdf":            "application/pdf",
		"text/html":                             "",
		"application/json;q=0, */*;q=0":         "",
		"application/json;q=abc":                "",
		"*/*, application/json;q=0":             "text/csv",
	} {
		if got := negotiate(accept, statementMedia); got != want {
			t.Errorf("%q: %q, want %q", accept, got, want)
		}
	}
}
