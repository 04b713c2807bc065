package ledger

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// How a statement writes references, amounts and dates: machine-readable for the CSV (major
// units with a '.', ISO 8601 UTC), for people in their language for the PDF.

// walletReference is a wallet's IBAN-like reference: "FX", two check digits computed as an
// IBAN's (ISO 7064 mod 97-10 over the rest followed by "FX00", letters counted A=10 … Z=35),
// the currency and the wallet id on 12 digits: FX45EUR000000000042.
func walletReference(currency string, id int64) string {
	bban := fmt.Sprintf("%s%012d", currency, id)
	var digits strings.Builder
	for _, r := range bban + "FX00" {
		if r >= 'A' && r <= 'Z' {
			digits.WriteString(strconv.Itoa(int(r-'A') + 10))
		} else {
			digits.WriteRune(r)
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("FX%02d%s", check, bban)
}

// groupedReference writes a reference in blocks of four, as IBANs are printed.
func groupedReference(ref string) string {
	var b strings.Builder
	for i, r := range ref {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// majorUnits writes minor units as a decimal in major units with exponent digits after a '.'
// (EUR -2500 → "-25.00", XOF 2500 → "2500").
func majorUnits(minor int64, exponent int) string {
	sign, digits := splitMinor(minor, exponent)
	if exponent == 0 {
		return sign + digits
	}
	return sign + digits[:len(digits)-exponent] + "." + digits[len(digits)-exponent:]
}

// splitMinor returns the sign ("" or "-") and the digits of |minor|, with at least exponent+1
// of them (leading zeros added).
func splitMinor(minor int64, exponent int) (string, string) {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor) // -MinInt64 wraps to its own magnitude as a uint64
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= exponent {
		digits = strings.Repeat("0", exponent-len(digits)+1) + digits
	}
	return sign, digits
}

// nbsp joins an amount to its currency and groups French thousands (the embedded font has no
// narrow no-break space).
const nbsp = "\u00a0"

// currencySymbols are printed instead of the code where the symbol is unambiguous.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£"}

// money formats an amount for people: fr "-1 234,56 €", en "-€1,234.56" (a currency without a
// symbol: fr "1 234 XOF", en "XOF 1,234").
func money(lang string, minor int64, currency string, exponent int) string {
	sign, digits := splitMinor(minor, exponent)
	whole, frac := digits[:len(digits)-exponent], digits[len(digits)-exponent:]
	group, point := ",", "."
	if lang == "fr" {
		group, point = nbsp, ","
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	n := b.String()
	if frac != "" {
		n += point + frac
	}
	sym, ok := currencySymbols[currency]
	switch {
	case lang == "fr" && ok:
		return sign + n + nbsp + sym
	case lang == "fr":
		return sign + n + nbsp + currency
	case ok:
		return sign + sym + n
	}
	return sign + currency + nbsp + n
}

// dateLayouts are the statement's dates for people (always UTC, said once in the header).
var dateLayouts = map[string]string{"fr": "02/01/2006 15:04", "en": "Jan 2, 2006 15:04"}

// humanDate formats an API timestamp for people in lang.
func humanDate(lang, apiTime string) string {
	t, err := time.Parse(time.RFC3339Nano, apiTime)
	if err != nil {
		return apiTime
	}
	layout, ok := dateLayouts[lang]
	if !ok {
		layout = dateLayouts["fr"]
	}
	return t.UTC().Format(layout)
}
