package privacy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/privacy"
	"github.com/flowxi/backend/testkit"
)

// userTables reads the schema: every base table with a user_id column or a foreign key to users.
func userTables(t *testing.T, f *fixture) []string {
	t.Helper()
	return f.Strings(`
		SELECT table_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'user_id'
		  AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
		UNION
		SELECT c.conrelid::regclass::text FROM pg_constraint c
		WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass
		ORDER BY 1`)
}

// TestExportCoversEveryUserTable fails when a table holding a user_id (or a foreign key to users)
// is neither exported nor excluded with a reason, and checks, for every covered table, that the
// export carries exactly the rows the table holds about a user who has rows everywhere.
func TestExportCoversEveryUserTable(t *testing.T) {
	f := newFixture(t)
	tables := userTables(t, f)
	if len(tables) < 10 {
		t.Fatalf("schema query found only %v", tables)
	}
	for _, name := range tables {
		if _, ok := privacy.Covered[name]; ok {
			continue
		}
		if _, ok := privacy.Excluded[name]; !ok {
			t.Errorf("table %s has a user_id or a foreign key to users but is not in the export (privacy.Covered) nor excluded (privacy.Excluded)", name)
		}
	}
	for name := range privacy.Covered {
		if f.Count(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`, name) != 1 {
			t.Errorf("privacy.Covered names %s, which the schema does not have", name)
		}
	}
	p := f.populate(t)
	f.stepUp(t, p.User, p.Secret)
	f.settle(t)
	want := coveredCounts(t, f, p)
	r := f.user(p.User, "GET", "/api/v1/me/export", nil)
	f.ok(t, r, 200)
	var body struct{ Data map[string]json.RawMessage }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	doc := body.Data
	for name, n := range want {
		sec := privacy.Covered[name]
		if n == 0 {
			t.Errorf("%s: the populated user has no row: the test does not prove it is exported", name)
		}
		var rows []json.RawMessage
		if sec.Key == "profile" {
			rows = []json.RawMessage{doc["profile"]}
		} else if err := json.Unmarshal(doc[sec.Key], &rows); err != nil {
			t.Errorf("%s: export key %s: %v", name, sec.Key, err)
			continue
		}
		if len(rows) != n {
			t.Errorf("%s: %d rows about the user, the export's %s has %d", name, n, sec.Key, len(rows))
		}
	}
}

// coveredCounts counts, for every covered table, the rows it holds about p (found as its Section says).
func coveredCounts(t *testing.T, f *fixture, p person) map[string]int {
	t.Helper()
	wallets := `(SELECT id FROM ledger_accounts WHERE user_id = $1)`
	out := map[string]int{}
	for name, sec := range privacy.Covered {
		var where string
		switch sec.By {
		case "id":
			where = "id = $1"
		case "user_id":
			where = "user_id = $1"
		case "case":
			where = "case_id IN (SELECT id FROM compliance_cases WHERE user_id = $1)"
		case "wallet":
			where = "account_id IN " + wallets
			if name == "ledger_transactions" {
				where = "from_account_id IN " + wallets + " OR to_account_id IN " + wallets
			}
		case "email":
			where = "to_address = (SELECT email FROM users WHERE id = $1)"
		default:
			t.Fatalf("%s: unknown link %q", name, sec.By)
		}
		out[name] = f.Count(fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", name, where), p.ID)
	}
	return out
}

// The export's content: the values the user wrote, signed links that serve the stored bytes,
// no secret; the support export is the same document, audited with the key.
func TestExportContent(t *testing.T) {
	f := newFixture(t)
	p := f.populate(t)
	f.settle(t)
	if r := f.user(p.User, "GET", "/api/v1/me/export", nil); r.Status != 403 || r.Code() != "STEP_UP_REQUIRED" {
		t.Fatalf("2FA user without step-up: %d %s", r.Status, r.Body)
	}
	f.stepUp(t, p.User, p.Secret)
	r := f.user(p.User, "GET", "/api/v1/me/export", nil)
	f.ok(t, r, 200)
	doc := testkit.DataOf[api.PersonalDataExport](t, r)
	pr := doc.Profile
	if pr.Email != p.Email || *pr.FirstName != p.First || *pr.LastName != p.Last || *pr.PhoneNumber != p.Phone || pr.BirthDate.String() != p.BirthDate {
		t.Fatalf("profile %+v", pr)
	}
	if len(doc.KycData) != 1 || doc.KycData[0].FirstName != p.KYCFirst || doc.KycData[0].AddressLine1 != p.Street {
		t.Fatalf("kyc data %+v", doc.KycData)
	}
	if len(doc.ComplianceDocuments) != 2 || pr.PhotoUrl == nil {
		t.Fatalf("documents %+v photo %v", doc.ComplianceDocuments, pr.PhotoUrl)
	}
	if got := fetch(t, f, doc.ComplianceDocuments[0].Url); string(got) != string(testkit.PDFDoc()) {
		t.Fatalf("document link serves %q", got)
	}
	if got := fetch(t, f, *pr.PhotoUrl); len(got) == 0 {
		t.Fatal("photo link serves nothing")
	}
	if len(doc.Wallets) != 1 || len(doc.Transactions) != 2 || len(doc.LedgerEntries) != 2 || len(doc.RecoveryCodes) != 10 {
		t.Fatalf("money %d wallets %d transactions %d entries; %d recovery codes", len(doc.Wallets), len(doc.Transactions), len(doc.LedgerEntries), len(doc.RecoveryCodes))
	}
	for _, secret := range []string{"password_hash", "secret_hash", "code_mac", "token_hash", "code_hash", "twofa_secret", "$argon2id$", p.Password} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the export carries %q", secret)
		}
	}
	// Support: the same sections, under support:read, audited with the key's name.
	s := f.internal("GET", fmt.Sprintf("/api/v1/internal/support/users/%d/export", p.ID), nil)
	f.ok(t, s, 200)
	sd := testkit.DataOf[api.PersonalDataExport](t, s)
	if sd.Profile.Email != p.Email || len(sd.AuditEvents) != len(doc.AuditEvents)+1 || len(sd.Sessions) != len(doc.Sessions) {
		t.Fatalf("support export differs: %d audit rows vs %d", len(sd.AuditEvents), len(doc.AuditEvents))
	}
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'privacy.export' AND actor_type = 'internal_key'`, p.ID); n != 1 {
		t.Fatalf("%d support export audit rows", n)
	}
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'privacy.export' AND actor_type = 'user'`, p.ID); n != 1 {
		t.Fatalf("%d user export audit rows", n)
	}
	if r := f.internal("GET", "/api/v1/internal/support/users/999999999/export", nil); r.Status != 404 || r.Code() != "USER_NOT_FOUND" {
		t.Fatalf("unknown user: %d %s", r.Status, r.Body)
	}
	weak := f.CreateInternalKey("no-support-"+testkit.RandomHex(3), "compliance:read")
	if r := f.Do(testkit.Req{Method: "GET", Path: fmt.Sprintf("/api/v1/internal/support/users/%d/export", p.ID), Headers: map[string]string{"X-Internal-Key": weak}}); r.Status != 403 {
		t.Fatalf("key without support:read: %d", r.Status)
	}
}

// fetch GETs a signed link and returns the body (a refused link fails the test).
func fetch(t *testing.T, f *fixture, url string) []byte {
	t.Helper()
	r := f.Fetch(url)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", url, r.Status, r.Body)
	}
	return r.Body
}
