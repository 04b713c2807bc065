package ledger

import (
	"fmt"

	"golang.org/x/text/currency"
)

// currencies is the set of offered ISO 4217 currencies with their minor-unit exponents.
type currencies map[string]int

// newCurrencies validates the configured codes against ISO 4217; exponents come from CLDR's
// standard rounding (EUR 2, XOF 0), never from call sites.
func newCurrencies(codes []string) (currencies, error) {
	out := currencies{}
	for _, c := range codes {
		u, err := currency.ParseISO(c)
		if err != nil || u.String() != c {
			return nil, fmt.Errorf("ledger: %q is not an ISO 4217 currency", c)
		}
		scale, _ := currency.Standard.Rounding(u)
		out[c] = scale
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ledger: no currency configured")
	}
	return out, nil
}

// exponent returns the minor-unit digits of an offered currency.
func (c currencies) exponent(code string) (int, bool) {
	e, ok := c[code]
	return e, ok
}

// pow10 is 10^n for the small exponents of ISO 4217 (0–4).
func pow10(n int) int64 {
	p := int64(1)
	for i := 0; i < n; i++ {
		p *= 10
	}
	return p
}

// exponentOf reads the exponent of any ISO 4217 code (a wallet whose currency is no longer
// offered still renders correctly); 2 for an unknown code.
func exponentOf(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}
