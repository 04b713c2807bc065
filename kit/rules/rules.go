// Package rules is the one home of the field rules that several capabilities apply to what people
// send: person names, ISO 3166-1 countries and nationalities, phone numbers, birth dates and free
// text. The profile and compliance both call it, so a value the profile accepts is accepted by a
// KYC case and the other way round.
//
// A string rule returns the normalized value, or the failed rule (a locale key of the
// validation catalogue) and its parameter, ready for apierr.Fields.Add.
package rules

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"

	"github.com/flowxi/backend/kit/apierr"
)

// A Check is a string rule: the normalized value, or the failed rule and its parameter.
type Check func(s string) (value, rule, param string)

// Apply runs check on v and records a failure on field; it returns the normalized value.
func Apply(fe *apierr.Fields, field, v string, check Check) string {
	out, rule, param := check(v)
	if rule != "" {
		fe.Add(field, rule, param)
	}
	return out
}

// MaxNameRunes is the longest person name (first or last), in characters.
const MaxNameRunes = 100

// AdultAge is the minimum age of a KYC subject and of a beneficial owner.
const AdultAge = 18

var (
	minBirthDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	asciiAlpha   = regexp.MustCompile(`^[A-Za-z]+$`)
)

// Name trims, NFC-normalizes and collapses inner white space, then checks the characters:
// letters of any script (with their combining marks), spaces, hyphens and apostrophes,
// starting and ending with a letter, at most MaxNameRunes.
func Name(s string) (value, rule, param string) {
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
	if n > MaxNameRunes {
		return "", "maxLength", strconv.Itoa(MaxNameRunes)
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
		case i > 0 && (unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		case i > 0 && isNameJoiner(r):
		default:
			return "", "name", ""
		}
	}
	if last, _ := utf8.DecodeLastRuneInString(s); isNameJoiner(last) {
		return "", "name", ""
	}
	return s, "", ""
}

func isNameJoiner(r rune) bool { return r == ' ' || r == '-' || r == '\'' || r == '’' }

// Text trims, NFC-normalizes and collapses white space of free text (addresses, company names,
// reasons) and refuses control characters and angle brackets; at most max characters.
func Text(s string, max int) (value, rule, param string) {
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	for _, r := range s {
		if unicode.IsControl(r) || r == '<' || r == '>' {
			return "", "text", ""
		}
	}
	if s == "" {
		return "", "required", ""
	}
	if utf8.RuneCountInString(s) > max {
		return "", "maxLength", strconv.Itoa(max)
	}
	return s, "", ""
}

// MaxReasonRunes is the longest reason an operator gives for an internal write (a review, a
// restriction, a support call, a key revocation: maxLength 1000 in openapi.yaml).
const MaxReasonRunes = 1000

// Reason checks the reason of an operator's write with the free-text rule (Text, at most max
// characters): the normalized text, or the 422 VALIDATION_FAILED naming `reason`.
func Reason(s string, max int) (string, error) {
	out, rule, param := Text(s, max)
	if rule != "" {
		return "", apierr.Invalid("reason", rule, param)
	}
	return out, nil
}

// Country accepts an assigned ISO 3166-1 alpha-2 code in any case and returns it upper-case.
// The letters are checked before upper-casing, so a look-alike that only upper-cases to a code
// (the dotless "ıt", the long "ſe") is refused.
func Country(s string) (value, rule, param string) {
	if c, ok := isoCode(s, 2); ok && ValidCountry(c) {
		return c, "", ""
	}
	return "", "country", ""
}

// Nationality accepts an assigned ISO 3166-1 alpha-3 code in any case and returns it upper-case
// (checked like Country).
func Nationality(s string) (value, rule, param string) {
	if c, ok := isoCode(s, 3); ok && ValidNationality(c) {
		return c, "", ""
	}
	return "", "nationality", ""
}

// isoCode trims s and upper-cases it if it is exactly n ASCII letters.
func isoCode(s string, n int) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) != n || !asciiAlpha.MatchString(s) {
		return "", false
	}
	return strings.ToUpper(s), true
}

// Phone accepts only E.164 (+ and digits) that libphonenumber says is a valid, assigned-range
// number, written in its canonical E.164 form.
func Phone(s string) (value, rule, param string) {
	s = strings.TrimSpace(s)
	if !e164.MatchString(s) {
		return "", "phone", ""
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != s {
		return "", "phone", ""
	}
	return s, "", ""
}

// ParseBirthDate accepts a real calendar date (2023-02-30 is refused: "format.date") that
// passes BirthDate.
func ParseBirthDate(s string, now time.Time) (time.Time, string) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, "format.date"
	}
	if rule := BirthDate(d, now); rule != "" {
		return time.Time{}, rule
	}
	return d, ""
}

// BirthDate refuses ("past_date") a date before 1900-01-01 or after now's calendar day (UTC).
func BirthDate(d, now time.Time) string {
	if d.Before(minBirthDate) || d.After(today(now)) {
		return "past_date"
	}
	return ""
}

// Adult reports whether someone born on birth is at least AdultAge on now's calendar day (UTC).
// Someone born on 29 February comes of age on 1 March in common years.
func Adult(birth, now time.Time) bool {
	b := birth.UTC()
	comesOfAge := time.Date(b.Year()+AdultAge, b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return !today(now).Before(comesOfAge)
}

func today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
