package profile

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// Field limits beyond what the schema says.
const maxNameRunes = 100

var (
	minBirthDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	upperAlpha   = regexp.MustCompile(`^[A-Z]+$`)
)

// normalizeName trims, NFC-normalizes and collapses inner white space, then checks the
// characters: letters of any script (with their combining marks), spaces, hyphens and
// apostrophes, starting with a letter. It returns the value or a failed rule (and parameter).
func normalizeName(s string) (string, string, string) {
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", "name", ""
		}
	}
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", "required", ""
	}
	if n > maxNameRunes {
		return "", "maxLength", "100"
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
		case i > 0 && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		case i > 0 && (r == ' ' || r == '-' || r == '\'' || r == '’'):
		default:
			return "", "name", ""
		}
	}
	if last, _ := utf8.DecodeLastRuneInString(s); last == ' ' || last == '-' || last == '\'' || last == '’' {
		return "", "name", ""
	}
	return s, "", ""
}

// parseBirthDate accepts a real calendar date (2023-02-30 is refused) from 1900-01-01 to today.
func parseBirthDate(s string, now time.Time) (time.Time, string) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, "format.date"
	}
	y, m, day := now.UTC().Date()
	today := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	if d.Before(minBirthDate) || d.After(today) {
		return time.Time{}, "past_date"
	}
	return d, ""
}

// normalizeCountry upper-cases and checks an alpha-2 code.
func normalizeCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, upperAlpha.MatchString(s) && ValidCountry(s)
}

// normalizeNationality upper-cases and checks an alpha-3 code.
func normalizeNationality(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, upperAlpha.MatchString(s) && ValidNationality(s)
}

// normalizePhone accepts only E.164 (+ and digits) that libphonenumber says is a valid,
// assigned-range number, and returns its canonical E.164 form.
func normalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !e164.MatchString(s) {
		return "", false
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	return out, out == s
}
