package rules

import "golang.org/x/text/language"

// notISO3166 are codes golang.org/x/text still knows as countries although ISO 3166-1 does not
// assign them today: exceptional reservations (AC, CP, DG, FQ, PC, TA) and withdrawn countries
// (AN, CS, NT, SU, YU). Without them the list has exactly the 249 assigned codes (a test keeps
// this true when x/text is upgraded).
var notISO3166 = map[string]bool{
	"AC": true, "AN": true, "CP": true, "CS": true, "DG": true, "FQ": true,
	"NT": true, "PC": true, "SU": true, "TA": true, "YU": true,
}

// countryRegion returns the region of an assigned ISO 3166-1 alpha-2 code (upper case).
func countryRegion(alpha2 string) (language.Region, bool) {
	if len(alpha2) != 2 || notISO3166[alpha2] {
		return language.Region{}, false
	}
	r, err := language.ParseRegion(alpha2)
	// ParseRegion also accepts groups (EU, 001), private use (ZZ, XK, QO) and deprecated codes it
	// maps to a successor (UK, DD, FX); only a country that is its own canonical form with an
	// alpha-3 counterpart is a real code.
	if err != nil || !r.IsCountry() || r.IsPrivateUse() || r.String() != alpha2 ||
		r.Canonicalize().String() != alpha2 || r.ISO3() == "ZZZ" {
		return language.Region{}, false
	}
	return r, true
}

// ValidCountry reports an assigned ISO 3166-1 alpha-2 code (upper case).
func ValidCountry(alpha2 string) bool {
	_, ok := countryRegion(alpha2)
	return ok
}

// ValidNationality reports an assigned ISO 3166-1 alpha-3 code (upper case).
func ValidNationality(alpha3 string) bool {
	if len(alpha3) != 3 {
		return false
	}
	r, err := language.ParseRegion(alpha3)
	if err != nil || r.ISO3() != alpha3 {
		return false
	}
	_, ok := countryRegion(r.String())
	return ok
}
