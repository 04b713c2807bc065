package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/kit/apierr"
)

// The country list is ISO 3166-1 exactly: 249 assigned alpha-2 codes, each with its alpha-3.
func TestCountryListIsISO3166(t *testing.T) {
	n := 0
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if ValidCountry(string([]rune{a, b})) {
				n++
			}
		}
	}
	if n != 249 {
		t.Fatalf("%d alpha-2 codes, ISO 3166-1 assigns 249", n)
	}
	for _, c := range []string{"BEN", "FRA", "USA", "CIV", "SSD", "XKX", "ANT", "SUN", "EUR", "ZZZ", "UNK"} {
		want := !strings.Contains("XKX ANT SUN EUR ZZZ UNK", c)
		if ValidNationality(c) != want {
			t.Errorf("%s: want %v", c, want)
		}
	}
}

// Every string rule, one table: the normalized value or the failed rule and its parameter.
func TestStringRules(t *testing.T) {
	text200 := func(s string) (string, string, string) { return Text(s, 200) }
	cases := []struct {
		name               string
		check              Check
		in                 string
		value, rule, param string
	}{
		{"name trimmed and collapsed", Name, "  Jean   Pierre ", "Jean Pierre", "", ""},
		{"name NFC", Name, "Rene\u0301", "René", "", ""},
		{"name in another script", Name, "Ἀλέξανδρος", "Ἀλέξανδρος", "", ""},
		{"name with apostrophe and hyphen", Name, "N’Dri-O'Neil", "N’Dri-O'Neil", "", ""},
		{"name blank", Name, "   ", "", "required", ""},
		{"name too long", Name, strings.Repeat("é", 101), "", "maxLength", "100"},
		{"name with digit", Name, "Ada2", "", "name", ""},
		{"name with control", Name, "Ada\x00", "", "name", ""},
		{"name ends with hyphen", Name, "Ada-", "", "name", ""},
		{"text collapsed", text200, " 12  rue\tdes Palmiers ", "12 rue des Palmiers", "", ""},
		{"text markup", text200, "<b>", "", "text", ""},
		{"text control", text200, "a\x01b", "", "text", ""},
		{"text blank", text200, " \n ", "", "required", ""},
		{"text too long", text200, strings.Repeat("x", 201), "", "maxLength", "200"},
		{"country any case", Country, " bj ", "BJ", "", ""},
		{"country unassigned", Country, "ZZ", "", "country", ""},
		{"country deprecated", Country, "UK", "", "country", ""},
		{"country dotless i", Country, "ıt", "", "country", ""},
		{"country long s", Country, "ſe", "", "country", ""},
		{"country alpha-3", Country, "BEN", "", "country", ""},
		{"nationality any case", Nationality, "ben", "BEN", "", ""},
		{"nationality long s", Nationality, "ſwe", "", "nationality", ""},
		{"nationality dotless i", Nationality, "ıta", "", "nationality", ""},
		{"nationality numeric", Nationality, "204", "", "nationality", ""},
		{"phone E.164", Phone, "+2290160000000", "+2290160000000", "", ""},
		{"phone national form", Phone, "0612345678", "", "phone", ""},
		{"phone outside any plan", Phone, "+10000000000", "", "phone", ""},
	}
	for _, c := range cases {
		v, rule, param := c.check(c.in)
		if v != c.value || rule != c.rule || param != c.param {
			t.Errorf("%s: got (%q, %q, %q), want (%q, %q, %q)", c.name, v, rule, param, c.value, c.rule, c.param)
		}
	}
}

func TestBirthDateAndAge(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"2026-03-01": "", "1900-01-01": "", "2026-03-02": "past_date", "1899-12-31": "past_date",
		"2023-02-30": "format.date", "01/02/2001": "format.date",
	} {
		if _, got := ParseBirthDate(in, now); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
	// Born on 29 February: of age on 1 March of a common year, not the day before.
	leap := time.Date(2008, 2, 29, 0, 0, 0, 0, time.UTC)
	if !Adult(leap, now) || Adult(leap, now.AddDate(0, 0, -1)) {
		t.Fatal("29 February comes of age on 1 March")
	}
}

// Reason is the free-text rule on `reason`, its failure the 422 naming that field.
func TestReason(t *testing.T) {
	cases := []struct {
		in, value, rule, param string
	}{
		{"  fraud\tsuspected \n", "fraud suspected", "", ""},
		{" \n ", "", "required", ""},
		{"<script>", "", "text", ""},
		{strings.Repeat("é", 21), "", "maxLength", "20"},
	}
	for _, tc := range cases {
		got, err := Reason(tc.in, 20)
		if tc.rule == "" {
			if err != nil || got != tc.value {
				t.Errorf("Reason(%q) = %q, %v; want %q", tc.in, got, err, tc.value)
			}
			continue
		}
		ae, ok := apierr.As(err)
		if !ok || ae.Status != 422 || ae.Code != "VALIDATION_FAILED" || len(ae.Fields) != 1 || len(ae.Fields["reason"]) != 1 ||
			ae.Fields["reason"][0] != (apierr.Rule{Key: tc.rule, Param: tc.param}) {
			t.Errorf("Reason(%q): %v (%+v), want reason: %s %s", tc.in, err, ae, tc.rule, tc.param)
		}
	}
}
