package profile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/testkit"
)

var stampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`)

// GET /me has exactly the documented keys, with the documented types and formats.
func TestGetMeMatchesDocumentedShape(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token})
	if r.Status != 200 || r.Code() != "ME_OK" || r.Message() != "OK" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	documented := []string{"id", "email", "status", "locale", "username", "photo_url", "first_name", "last_name",
		"birth_date", "country", "nationality", "phone_number", "twofa_enabled", "created_at", "updated_at"}
	d := r.Data()
	var keys []string
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sort.Strings(documented)
	if !slices.Equal(keys, documented) {
		t.Fatalf("keys %v, documented %v", keys, documented)
	}
	p := testkit.DataOf[api.Profile](t, r)
	if p.Id != u.ID || p.Email != u.Email || p.Username != fmt.Sprintf("fx%08d", u.ID) ||
		p.Status != "active" || p.Locale != "fr" || p.TwofaEnabled || p.PhotoUrl != nil || p.FirstName != nil {
		t.Fatalf("data %+v", p)
	}
	for k, s := range map[string]string{"created_at": p.CreatedAt, "updated_at": p.UpdatedAt} {
		if !stampRe.MatchString(s) {
			t.Fatalf("%s = %v", k, s)
		}
	}

	// Filled in, the same shape carries the documented example's values and formats.
	env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: map[string]any{
		"first_name": "Ada", "last_name": "Martin", "birth_date": "1999-01-01", "country": "BJ", "nationality": "BEN", "phone_number": "+2290160000000"}})
	d = env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token}).Data()
	want := map[string]any{"first_name": "Ada", "last_name": "Martin", "birth_date": "1999-01-01", "country": "BJ", "nationality": "BEN", "phone_number": "+2290160000000"}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
}

// patchCase is one PATCH request and what it must leave behind.
type patchCase struct {
	name   string
	body   map[string]any
	status int
	fields []string       // failing fields (422)
	want   map[string]any // expected data values (200)
	before map[string]any // state set up first
}

func TestUpdateMe(t *testing.T) {
	env := testkit.New(t)
	full := map[string]any{"first_name": "Ada", "last_name": "Martin", "birth_date": "1999-01-01", "country": "BJ", "nationality": "BEN", "phone_number": "+2290160000000"}
	today := env.Clock.Now().UTC().Format(time.DateOnly)
	tomorrow := env.Clock.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	cases := []patchCase{
		{name: "full body, codes upper-cased", body: map[string]any{"first_name": "  Ada ", "last_name": "Martin", "birth_date": "1999-01-01", "country": "bj", "nationality": "ben", "phone_number": "+2290160000000"},
			status: 200, want: map[string]any{"first_name": "Ada", "last_name": "Martin", "birth_date": "1999-01-01", "country": "BJ", "nationality": "BEN", "phone_number": "+2290160000000", "locale": "fr"}},
		{name: "omitted fields are unchanged", before: full, body: map[string]any{"first_name": "Grace"},
			status: 200, want: map[string]any{"first_name": "Grace", "last_name": "Martin", "country": "BJ", "phone_number": "+2290160000000"}},
		{name: "null clears", before: full, body: map[string]any{"phone_number": nil, "birth_date": nil, "country": nil},
			status: 200, want: map[string]any{"phone_number": nil, "birth_date": nil, "country": nil, "first_name": "Ada", "nationality": "BEN"}},
		{name: "names in any script", body: map[string]any{"first_name": "Zoë-Łucja", "last_name": "O’Brien d'Arc"},
			status: 200, want: map[string]any{"first_name": "Zoë-Łucja", "last_name": "O’Brien d'Arc"}},
		{name: "cjk and devanagari names", body: map[string]any{"first_name": "小龙", "last_name": "अनुराधा"},
			status: 200, want: map[string]any{"first_name": "小龙", "last_name": "अनुराधा"}},
		{name: "inner spaces collapsed", body: map[string]any{"first_name": "Jean   Pierre"}, status: 200, want: map[string]any{"first_name": "Jean Pierre"}},
		{name: "born today", body: map[string]any{"birth_date": today}, status: 200, want: map[string]any{"birth_date": today}},
		{name: "locale", body: map[string]any{"locale": "en"}, status: 200, want: map[string]any{"locale": "en"}},
		{name: "empty body changes nothing", before: full, body: map[string]any{}, status: 200, want: map[string]any{"first_name": "Ada"}},
		{name: "unknown country", body: map[string]any{"country": "XX"}, status: 422, fields: []string{"country"}},
		{name: "group region EU", body: map[string]any{"country": "EU"}, status: 422, fields: []string{"country"}},
		{name: "private use ZZ", body: map[string]any{"country": "zz"}, status: 422, fields: []string{"country"}},
		{name: "deprecated UK", body: map[string]any{"country": "UK"}, status: 422, fields: []string{"country"}},
		{name: "withdrawn YU", body: map[string]any{"country": "YU"}, status: 422, fields: []string{"country"}},
		{name: "numeric region 001", body: map[string]any{"country": "001"}, status: 422, fields: []string{"country"}},
		{name: "digits in country", body: map[string]any{"country": "1A"}, status: 422, fields: []string{"country"}},
		{name: "dotless i upper-cases to IT", body: map[string]any{"country": "ıt"}, status: 422, fields: []string{"country"}},
		{name: "long s upper-cases to SWE", body: map[string]any{"nationality": "ſwe"}, status: 422, fields: []string{"nationality"}},
		{name: "alpha-2 as nationality", body: map[string]any{"nationality": "BJ"}, status: 422, fields: []string{"nationality"}},
		{name: "unknown nationality", body: map[string]any{"nationality": "ABC"}, status: 422, fields: []string{"nationality"}},
		{name: "private nationality", body: map[string]any{"nationality": "ZZZ"}, status: 422, fields: []string{"nationality"}},
		{name: "group nationality", body: map[string]any{"nationality": "EUR"}, status: 422, fields: []string{"nationality"}},
		{name: "phone not E.164", body: map[string]any{"phone_number": "0612345678"}, status: 422, fields: []string{"phone_number"}},
		{name: "phone with spaces", body: map[string]any{"phone_number": "+33 6 12 34 56 78"}, status: 422, fields: []string{"phone_number"}},
		{name: "phone outside any plan", body: map[string]any{"phone_number": "+10000000000"}, status: 422, fields: []string{"phone_number"}},
		{name: "future birth date", body: map[string]any{"birth_date": tomorrow}, status: 422, fields: []string{"birth_date"}},
		{name: "birth date before 1900", body: map[string]any{"birth_date": "1899-12-31"}, status: 422, fields: []string{"birth_date"}},
		{name: "impossible date", body: map[string]any{"birth_date": "2001-02-30"}, status: 422, fields: []string{"birth_date"}},
		{name: "bad date format", body: map[string]any{"birth_date": "01/02/2001"}, status: 422, fields: []string{"birth_date"}},
		{name: "digits in name", body: map[string]any{"first_name": "Ada2"}, status: 422, fields: []string{"first_name"}},
		{name: "markup in name", body: map[string]any{"last_name": "<b>x</b>"}, status: 422, fields: []string{"last_name"}},
		{name: "blank name", body: map[string]any{"first_name": "   "}, status: 422, fields: []string{"first_name"}},
		{name: "empty name", body: map[string]any{"first_name": ""}, status: 422, fields: []string{"first_name"}},
		{name: "control character in name", body: map[string]any{"first_name": "Ada\u0000"}, status: 422, fields: []string{"first_name"}},
		{name: "trailing hyphen", body: map[string]any{"first_name": "Ada-"}, status: 422, fields: []string{"first_name"}},
		{name: "101 characters", body: map[string]any{"last_name": strings.Repeat("é", 101)}, status: 422, fields: []string{"last_name"}},
		{name: "unsupported locale", body: map[string]any{"locale": "de"}, status: 422, fields: []string{"locale"}},
		{name: "null locale", body: map[string]any{"locale": nil}, status: 422, fields: []string{"locale"}},
		{name: "every failure at once", body: map[string]any{"first_name": "1", "country": "QQ", "nationality": "QQQ", "phone_number": "+1", "birth_date": "2999-01-01"},
			status: 422, fields: []string{"birth_date", "country", "first_name", "nationality", "phone_number"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := env.CreateUser()
			if tc.before != nil {
				if r := env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: tc.before}); r.Status != 200 {
					t.Fatalf("setup: %d %s", r.Status, r.Body)
				}
			}
			before, _ := env.Store().Q.GetUserByID(context.Background(), u.ID)
			auditBefore := len(auditActions(t, env, u.ID))
			r := env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: tc.body})
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			after, _ := env.Store().Q.GetUserByID(context.Background(), u.ID)
			if tc.status == 422 {
				var got []string
				for k := range r.Errors() {
					got = append(got, k)
				}
				sort.Strings(got)
				if r.Code() != "VALIDATION_FAILED" || !slices.Equal(got, tc.fields) {
					t.Fatalf("code %s fields %v, want %v", r.Code(), got, tc.fields)
				}
				if state(before) != state(after) || len(auditActions(t, env, u.ID)) != auditBefore {
					t.Fatalf("a refused PATCH changed something:\n%v\n%v", before, after)
				}
				return
			}
			d := r.Data()
			if up := testkit.DataOf[api.ProfileUpdate](t, r); r.Code() != "ME_UPDATED" || up.Id != u.ID || !stampRe.MatchString(up.UpdatedAt) {
				t.Fatalf("body %s", r.Body)
			}
			for k, v := range tc.want {
				if d[k] != v {
					t.Errorf("%s = %v, want %v", k, d[k], v)
				}
			}
			// The answer is what GET (the database) now says.
			me := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token}).Data()
			for k := range tc.want {
				if me[k] != d[k] {
					t.Errorf("GET %s = %v, PATCH said %v", k, me[k], d[k])
				}
			}
		})
	}
}

// state renders a user row with its pointers followed, for before/after comparisons.
func state(u db.User) string {
	b, _ := json.Marshal(u)
	return string(b)
}

// Validation messages are localized; field names are not.
func TestUpdateMeMessagesAreLocalized(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	want := map[string][2]string{
		"fr": {"Certains champs sont invalides.", "Le champ country doit être un code pays ISO 3166-1 alpha-2."},
		"en": {"Some fields are invalid.", "The country must be an ISO 3166-1 alpha-2 country code."},
	}
	for lang, w := range want {
		r := env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: map[string]any{"country": "XX"},
			Headers: map[string]string{"X-App-Locale": lang}})
		msgs := testkit.Decode[api.ValidationError](t, r).Errors["country"]
		if r.Message() != w[0] || len(msgs) != 1 || msgs[0] != w[1] {
			t.Errorf("%s: %s", lang, r.Body)
		}
	}
}

// Changes are audited by field name, never by value; a no-op PATCH writes nothing.
func TestUpdateMeAuditsFieldNames(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	body := map[string]any{"first_name": "Ada", "phone_number": "+33612345678"}
	env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: body})
	env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: body}) // same values: no change
	got := auditActions(t, env, u.ID)
	if len(got) != 1 || got[0] != `profile.updated {"fields": ["first_name", "phone_number"]}` {
		t.Fatalf("audit %v", got)
	}
	if strings.Contains(strings.Join(got, " "), "612345678") || strings.Contains(strings.Join(got, " "), "Ada") {
		t.Fatal("audit holds values")
	}
}

// A user switching to English gets this answer and the following ones in English.
func TestUpdateMeLocaleApplies(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	r := env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: map[string]any{"locale": "en"}})
	if r.Message() != "Profile updated." || r.Header.Get("Content-Language") != "en" {
		t.Fatalf("%s %s", r.Header.Get("Content-Language"), r.Body)
	}
	r = env.Do(testkit.Req{Method: "PATCH", Path: "/api/v1/me", Token: u.Token, JSON: map[string]any{"locale": "fr"},
		Headers: map[string]string{"X-App-Locale": "en"}})
	if r.Message() != "Profile updated." {
		t.Fatalf("the header decides: %s", r.Body)
	}
	if r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token}); testkit.DataOf[api.Profile](t, r).Locale != "fr" {
		t.Fatalf("%s", r.Body)
	}
}
