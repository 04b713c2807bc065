package compliance

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/flowxi/backend/services/apierr"
	"github.com/flowxi/backend/services/profile"
)

// AdultAge is the minimum age at saving and at submission.
const AdultAge = 18

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

// normalizeName applies the profile's rules for person names (the profile keeps its own
// unexported; the rules are repeated here rather than changing that package): NFC, collapsed white space,
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

// normalizeCountry upper-cases and checks an ISO 3166-1 alpha-2 code with the profile's list.
func normalizeCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, profile.ValidCountry(s)
}

// normalizeNationality upper-cases and checks an ISO 3166-1 alpha-3 code with the profile's list.
func normalizeNationality(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, profile.ValidNationality(s)
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
