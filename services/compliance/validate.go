package compliance

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/flowxi/backend/services/apierr"
)

// AdultAge is the minimum age at saving and at submission.
const AdultAge = 18

var upperAlpha = regexp.MustCompile(`^[A-Z]+$`)

// fieldErrors collects field rules and returns nil when there are none.
type fieldErrors struct{ e *apierr.Error }

func (f *fieldErrors) add(field, rule string, param ...string) {
	if f.e == nil {
		f.e = apierr.Invalid(field, rule, param...)
		return
	}
	f.e.Add(field, rule, param...)
}

func (f *fieldErrors) err() error {
	if f.e == nil {
		return nil
	}
	return f.e
}

// normalizeName applies the profile's rules for person names: NFC, collapsed white space,
// letters of any script (with combining marks), inner spaces, hyphens and apostrophes, at most
// 100 characters. It returns the value or a failed rule.
func normalizeName(s string) (string, string) {
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", "name"
		}
	}
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", "required"
	}
	if n > 100 {
		return "", "maxLength"
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
		case i > 0 && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		case i > 0 && (r == ' ' || r == '-' || r == '\'' || r == '’'):
		default:
			return "", "name"
		}
	}
	if last, _ := utf8.DecodeLastRuneInString(s); last == ' ' || last == '-' || last == '\'' || last == '’' {
		return "", "name"
	}
	return s, ""
}

// normalizeText trims and NFC-normalizes free text (addresses, company names) and refuses control
// characters; empty after trimming is "required".
func normalizeText(s string, max int) (string, string) {
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	for _, r := range s {
		if unicode.IsControl(r) || r == '<' || r == '>' {
			return "", "text"
		}
	}
	if s == "" {
		return "", "required"
	}
	if utf8.RuneCountInString(s) > max {
		return "", "maxLength"
	}
	return s, ""
}

// region returns the ISO 3166-1 region of an assigned alpha-2 or alpha-3 code (upper case).
// Like the profile it refuses groups, private-use, deprecated and reserved codes.
func region(code string) (language.Region, bool) {
	if !upperAlpha.MatchString(code) {
		return language.Region{}, false
	}
	switch code {
	case "AC", "AN", "CP", "CS", "DG", "FQ", "NT", "PC", "SU", "TA", "YU", "ANT", "SCG", "SUN", "YUG", "NTZ":
		return language.Region{}, false
	}
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() || r.IsPrivateUse() || r.ISO3() == "ZZZ" || r.Canonicalize() != r {
		return language.Region{}, false
	}
	if (len(code) == 2 && r.String() != code) || (len(code) == 3 && r.ISO3() != code) {
		return language.Region{}, false
	}
	return r, true
}

// normalizeCountry upper-cases and checks an ISO 3166-1 alpha-2 code.
func normalizeCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	_, ok := region(s)
	return s, ok && len(s) == 2
}

// normalizeNationality upper-cases and checks an ISO 3166-1 alpha-3 code.
func normalizeNationality(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	_, ok := region(s)
	return s, ok && len(s) == 3
}

// adult reports whether someone born on birth is at least AdultAge on now's calendar day (UTC).
// Someone born on 29 February comes of age on 1 March in common years.
func adult(birth, now time.Time) bool {
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	b := birth.UTC()
	comesOfAge := time.Date(b.Year()+AdultAge, b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return !today.Before(comesOfAge)
}

// validBirthDate refuses dates before 1900 or in the future, like the profile ("past_date").
func validBirthDate(d, now time.Time) bool {
	return !d.Before(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)) && !d.After(now.UTC())
}
