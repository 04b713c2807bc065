package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/services/privacy"
	"github.com/flowxi/backend/testkit"
)

// column is one column of a table that can hold text.
type column struct{ table, name, kind string }

// textColumns reads the schema: every text, varchar, citext, json/jsonb, bytea and array column
// of every table of the schema (River's included).
func textColumns(t *testing.T, f *fixture) []column {
	t.Helper()
	rows := f.Query(`
		SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
		WHERE c.table_schema = current_schema()
		  AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY') OR c.udt_name = 'citext')
		ORDER BY 1, 2`)
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.kind); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// grep returns where value occurs in the database (table.column), case-insensitively; bytea
// columns are searched for the value's UTF-8 bytes.
func grep(t *testing.T, f *fixture, cols []column, value string) []string {
	t.Helper()
	var hits []string
	for _, c := range cols {
		cond := fmt.Sprintf(`strpos(lower(%q::text), lower($1)) > 0`, c.name)
		if c.kind == "bytea" {
			cond = fmt.Sprintf(`position(convert_to($1, 'UTF8') in %q) > 0`, c.name)
		}
		if n := f.Count(fmt.Sprintf(`SELECT count(*) FROM %q WHERE %s`, c.table, cond), value); n > 0 {
			hits = append(hits, fmt.Sprintf("%s.%s (%d rows)", c.table, c.name, n))
		}
	}
	return hits
}

const (
	erasedTotal  = "flowxi_erasure_done_total"
	erasureDue   = `flowxi_erasure_pending{state="due"}`
	erasureWaits = `flowxi_erasure_pending{state="retained"}`
)

// A closed account keeps everything until ERASURE_RETENTION has passed (the injected clock);
// then one sweep leaves none of its personal values in any column of any table, its objects are
// gone from storage, and the ledger check and the audit chain are still clean.
func TestErasureAfterRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.populate(t)
	keys := f.objectKeys(t, p.ID)
	if len(keys) != 3 {
		t.Fatalf("objects before erasure: %v", keys)
	}
	f.ok(t, f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/users/%d/close", p.ID), map[string]any{"reason": "closure requested"}), 200)
	f.settle(t)
	cols := textColumns(t, f)
	before := f.Metrics(t)
	if before[erasureWaits] < 1 {
		t.Fatalf("closed account not counted as retained: %v", before[erasureWaits])
	}

	// Retention not reached: now, and one hour before it ends.
	for _, ahead := range []time.Duration{0, privacy.DefaultRetention - time.Hour} {
		f.Clock.Advance(ahead)
		if n, err := f.EraseDue(ctx); err != nil || n != 0 {
			t.Fatalf("%v after closure: erased %d (%v)", ahead, n, err)
		}
		if hits := grep(t, f, cols, p.Email); len(hits) == 0 {
			t.Fatal("the e-mail went before the retention ended")
		}
	}
	f.Clock.Advance(2 * time.Hour)
	if m := f.Metrics(t); m[erasureDue] < 1 {
		t.Fatalf("due account not on /metrics: %v", m[erasureDue])
	}
	if n, err := f.EraseDue(ctx); err != nil || n < 1 {
		t.Fatalf("after the retention: erased %d (%v)", n, err)
	}
	f.settle(t)

	for what, v := range p.values() {
		if hits := grep(t, f, cols, v); len(hits) > 0 {
			t.Errorf("%s %q still in %v", what, v, hits)
		}
	}
	for _, k := range keys {
		if _, err := f.s3.Client(t).StatObject(ctx, f.s3.Bucket, k, minio.StatObjectOptions{}); err == nil {
			t.Errorf("object %s still stored", k)
		} else if resp := minio.ToErrorResponse(err); resp.Code != "NoSuchKey" && !errors.Is(err, context.Canceled) {
			t.Errorf("object %s: %v", k, err)
		}
	}
	if problems, err := f.LedgerCheck(); err != nil || len(problems) > 0 {
		t.Fatalf("ledger check after erasure: %v %v", problems, err)
	}
	if rep, err := f.VerifyAudit(ctx, f.Clock.Now(), time.Hour); err != nil || !rep.OK() {
		t.Fatalf("audit verify after erasure: %+v %v", rep, err)
	}
	if n := f.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = 'privacy.erased' AND actor_type = 'system'`, p.ID); n != 1 {
		t.Fatalf("%d erasure audit rows", n)
	}
	if after := f.Metrics(t); after[erasedTotal] < before[erasedTotal]+1 {
		t.Fatalf("%s %v → %v", erasedTotal, before[erasedTotal], after[erasedTotal])
	}
	f.checkErasedExport(t, p)
}

// objectKeys lists the stored objects of the user: photo and compliance documents.
func (f *fixture) objectKeys(t *testing.T, userID int64) []string {
	t.Helper()
	out := f.Strings(`SELECT photo_key FROM users WHERE id = $1 AND photo_key IS NOT NULL
		UNION ALL SELECT d.storage_key FROM compliance_documents d JOIN compliance_cases c ON c.id = d.case_id WHERE c.user_id = $1`, userID)
	for _, k := range out {
		if _, err := f.s3.Client(t).StatObject(context.Background(), f.s3.Bucket, k, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("object %s not stored: %v", k, err)
		}
	}
	return out
}

// checkErasedExport: after erasure the support export shows the pseudonym and the money
// records, and no personal data.
func (f *fixture) checkErasedExport(t *testing.T, p person) {
	t.Helper()
	r := f.internal("GET", fmt.Sprintf("/api/v1/internal/support/users/%d/export", p.ID), nil)
	f.ok(t, r, 200)
	doc := testkit.DataOf[api.PersonalDataExport](t, r)
	pr := doc.Profile
	if pr.Email != privacy.Pseudonym(p.ID) || pr.FirstName != nil || pr.PhoneNumber != nil || pr.BirthDate != nil || pr.PhotoUrl != nil || pr.ErasedAt == nil || pr.ClosedAt == nil {
		t.Fatalf("erased profile %+v", pr)
	}
	if len(doc.KycData) != 0 || len(doc.ComplianceDocuments) != 0 || len(doc.KnownDevices) != 0 || len(doc.RecoveryCodes) != 0 || len(doc.EmailCodes) != 0 || len(doc.MagicLinks) != 0 {
		t.Fatalf("erased sections still hold rows: %+v", doc)
	}
	if len(doc.Wallets) != 1 || len(doc.Transactions) != 2 || len(doc.LedgerEntries) != 2 {
		t.Fatalf("money records after erasure: %d wallets %d transactions %d entries", len(doc.Wallets), len(doc.Transactions), len(doc.LedgerEntries))
	}
	for _, s := range doc.Sessions {
		if s.Ip != nil || s.UserAgent != nil || s.DeviceName != nil || s.RevokedAt == nil {
			t.Fatalf("session after erasure %+v", s)
		}
	}
}
