package compliance_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/testkit"
)

// keys lists a map's keys in order; the validation tests compare the exact set of error fields,
// which stays a read of the `errors` map (the set itself is what is checked).
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KYC data: what the request leaves out comes from the profile, every value passes the profile's
// rules, the person must be an adult, and nothing is written on a refusal.
func TestSaveKycData(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser(testkit.WithoutKYC())
	ov := f.user(u, "GET", "/api/v1/compliance", nil)
	o := testkit.DataOf[api.ComplianceOverview](t, ov)
	if ov.Status != 200 || o.Cases[0].Status != "not_started" || len(o.Cases[0].Missing) != 4 || o.CanSend {
		t.Fatalf("initial overview: %s", ov.Body)
	}
	addr := map[string]any{"line1": "12 rue des Palmiers", "city": "Cotonou", "postal_code": "01BP1234"}
	minor := f.Clock.Now().AddDate(-17, 0, 0).Format(time.DateOnly)
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"nothing in the profile", map[string]any{"address": addr}, []string{"birth_date", "country", "first_name", "last_name", "nationality"}},
		{"minor", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "birth_date": minor, "nationality": "BEN", "country": "BJ", "address": addr}, []string{"birth_date"}},
		{"bad codes and name", map[string]any{"first_name": "Ada<script>", "last_name": "Lovelace", "birth_date": "1990-12-10", "nationality": "XXX", "country": "ZZ", "address": addr}, []string{"country", "first_name", "nationality"}},
		{"future birth", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "birth_date": "2999-01-01", "nationality": "BEN", "country": "BJ", "address": addr}, []string{"birth_date"}},
		// Codes are ASCII letters in any case: a look-alike that only upper-cases to a code is refused.
		{"look-alike codes", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "birth_date": "1990-12-10", "nationality": "ıta", "country": "ſe", "address": addr}, []string{"country", "nationality"}},
	}
	for _, c := range cases {
		r := f.user(u, "PUT", "/api/v1/compliance/kyc", c.body, "en")
		if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || fmt.Sprint(keys(r.Errors())) != fmt.Sprint(c.fields) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	if r := f.user(u, "PUT", "/api/v1/compliance/kyc", cases[1].body, "fr"); testkit.Decode[api.ValidationError](t, r).Errors["birth_date"][0] != i18n.Text("fr", "validation.adult") {
		t.Errorf("adult rule in French: %s", r.Body)
	}
	if n := f.Count("SELECT count(*) FROM compliance_kyc_data"); n != 0 {
		t.Fatalf("refused data was written (%d rows)", n)
	}

	// Prefilled from the profile: only the address is sent.
	f.ExecSQL(`UPDATE users SET first_name = 'Grace', last_name = 'Hopper', birth_date = '1986-12-09', nationality = 'USA', country = 'US' WHERE id = $1`, u.ID)
	r := f.user(u, "PUT", "/api/v1/compliance/kyc", map[string]any{"address": addr, "country": "bj"})
	if r.Status != 200 || r.Code() != "KYC_DATA_SAVED" || fmt.Sprint(testkit.DataOf[api.ComplianceCase](t, r).Missing) != "[identity_document proof_of_address selfie]" {
		t.Fatalf("prefilled save: %d %s", r.Status, r.Body)
	}
	if got := f.str("SELECT first_name || ' ' || last_name || ' ' || nationality || ' ' || country || ' ' || birth_date::text FROM compliance_kyc_data"); got != "Grace Hopper USA BJ 1986-12-09" {
		t.Fatalf("stored %q", got)
	}

	// Submission needs every document.
	if r := f.user(u, "POST", "/api/v1/compliance/kyc/submit", nil, "en"); r.Status != 409 || r.Code() != "CASE_INCOMPLETE" || r.Message() != i18n.Text("en", "CASE_INCOMPLETE") {
		t.Fatalf("incomplete submit: %d %s", r.Status, r.Body)
	}
	id := f.caseInStatus(u.ID, "kyc", "not_started")
	f.completeKYC(id)
	if r := f.user(u, "POST", "/api/v1/compliance/kyc/submit", nil); r.Status != 200 || r.Code() != "CASE_SUBMITTED" || testkit.DataOf[api.ComplianceCase](t, r).Status != "submitted" {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	if r := f.user(u, "PUT", "/api/v1/compliance/kyc", cases[1].body); r.Status != 409 || r.Code() != "CASE_NOT_EDITABLE" {
		t.Fatalf("edit after submit: %d %s", r.Status, r.Body)
	}
	if r := f.user(u, "PUT", "/api/v1/compliance/kyb", map[string]any{"legal_name": "X", "registration_number": "1", "country": "BJ",
		"beneficial_owners": []any{map[string]any{"first_name": "A", "last_name": "B", "birth_date": "1980-01-01", "nationality": "BEN", "ownership_percent": 10}}}); r.Status != 409 || r.Code() != "CASE_NOT_APPLICABLE" {
		t.Fatalf("KYB on a personal account: %d %s", r.Status, r.Body)
	}
}

// KYB data: beneficial owners are adults and own at most 100 % together.
func TestSaveKybData(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser(testkit.WithoutKYC())
	f.user(u, "PUT", "/api/v1/compliance/account-type", map[string]any{"account_type": "business"})
	owner := func(pct int, birth string) map[string]any {
		return map[string]any{"first_name": "Ada", "last_name": "Lovelace", "birth_date": birth, "nationality": "BEN", "ownership_percent": pct}
	}
	body := func(owners ...any) map[string]any {
		return map[string]any{"legal_name": "Flowxi Demo SARL", "registration_number": "RB/COT/24 B 12345", "country": "BJ", "beneficial_owners": owners}
	}
	minor := f.Clock.Now().AddDate(-10, 0, 0).Format(time.DateOnly)
	r := f.user(u, "PUT", "/api/v1/compliance/kyb", body(owner(60, "1980-01-01"), owner(50, minor)))
	if r.Status != 422 || fmt.Sprint(keys(r.Errors())) != "[beneficial_owners beneficial_owners.1.birth_date]" {
		t.Fatalf("over 100%% and a minor: %d %s", r.Status, r.Body)
	}
	lookAlike := body(owner(60, "1980-01-01"))
	lookAlike["country"] = "ıt"
	lookAlike["beneficial_owners"].([]any)[0].(map[string]any)["nationality"] = "ſwe"
	r = f.user(u, "PUT", "/api/v1/compliance/kyb", lookAlike)
	if r.Status != 422 || fmt.Sprint(keys(r.Errors())) != "[beneficial_owners.0.nationality country]" {
		t.Fatalf("look-alike codes: %d %s", r.Status, r.Body)
	}
	r = f.user(u, "PUT", "/api/v1/compliance/kyb", body(owner(60, "1980-01-01"), owner(40, "1985-05-05")))
	if r.Status != 200 || r.Code() != "KYB_DATA_SAVED" || fmt.Sprint(testkit.DataOf[api.ComplianceCase](t, r).Missing) != "[company_registration beneficial_owner_declaration]" {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
}

// The review queue is keyset-paginated, oldest first, and every page is complete and disjoint.
func TestReviewQueuePagination(t *testing.T) {
	f := newFixture(t)
	var want []int64
	for i := 0; i < 5; i++ {
		u := f.CreateUser(testkit.WithoutKYC())
		want = append(want, f.caseInStatus(u.ID, "kyc", "submitted"))
	}
	f.caseInStatus(f.CreateUser(testkit.WithoutKYC()).ID, "kyc", "approved")
	var got []int64
	cursor := ""
	for pages := 0; pages < 50; pages++ {
		path := "/api/v1/internal/compliance/cases?status=submitted&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := f.internal("GET", path, nil)
		if r.Status != 200 {
			t.Fatalf("page: %d %s", r.Status, r.Body)
		}
		page := testkit.Decode[api.ComplianceCasesResponse](t, r)
		for _, c := range page.Data {
			got = append(got, c.Id)
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			break
		}
		cursor = *page.NextCursor
	}
	// Other tests of the package share the database: keep ours, and check the order of all.
	mine := map[int64]bool{}
	for _, id := range want {
		mine[id] = true
	}
	var ours []int64
	for i, id := range got {
		if i > 0 && got[i-1] >= id {
			t.Fatalf("pages are not in id order: %v", got)
		}
		if mine[id] {
			ours = append(ours, id)
		}
	}
	if fmt.Sprint(ours) != fmt.Sprint(want) {
		t.Fatalf("pages gave %v, want %v", ours, want)
	}
}
