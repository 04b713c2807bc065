package compliance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/testkit"
)

// upload posts a document as multipart (kind, file named name with the declared type ctype).
func (f *fixture) upload(u testkit.User, kind, name, ctype string, data []byte, lang ...string) *testkit.Resp {
	f.T.Helper()
	body, btype := testkit.Multipart(f.T, map[string]string{"kind": kind}, testkit.File{Field: "file", Name: name, Type: ctype, Data: data})
	hdr := map[string]string{}
	if len(lang) > 0 {
		hdr["X-App-Locale"] = lang[0]
	}
	return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/compliance/documents", Raw: body, Type: btype, Token: u.Token, Headers: hdr})
}

// objects lists the stored compliance objects.
func (f *fixture) objects() []string {
	f.T.Helper()
	keys, err := f.Storage().List(context.Background(), "compliance/")
	if err != nil {
		f.T.Fatal(err)
	}
	return keys
}

// Documents are accepted by content only; anything else is refused and leaves no object and no row.
func TestDocumentTypeByContent(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser(testkit.WithoutKYC())
	elf := append([]byte{0x7F, 'E', 'L', 'F', 2, 1, 1, 0}, bytes.Repeat([]byte{0}, 200)...)
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	jpg := testkit.Picture(t, "jpeg")
	refused := []struct {
		name, file, ctype string
		data              []byte
		status            int
		code              string
	}{
		{"ELF executable named .pdf", "passport.pdf", "application/pdf", elf, 415, "DOCUMENT_UNSUPPORTED_TYPE"},
		{"HTML named .pdf", "passport.pdf", "application/pdf", html, 415, "DOCUMENT_UNSUPPORTED_TYPE"},
		{"PDF with HTML after a BOM", "passport.pdf", "application/pdf", append([]byte("\xEF\xBB\xBF"), testkit.PDFDoc()...), 415, "DOCUMENT_UNSUPPORTED_TYPE"},
		{"truncated PDF", "passport.pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj << /Type"), 422, "DOCUMENT_INVALID"},
		{"JPEG cut in half", "selfie.jpg", "image/jpeg", jpg[:len(jpg)/2], 422, "DOCUMENT_INVALID"},
		{"PNG magic then garbage", "selfie.png", "image/png", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...), 422, "DOCUMENT_INVALID"},
		{"over 10 MiB", "scan.pdf", "application/pdf", append(append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{' '}, 10<<20)...), []byte("%%EOF")...), 413, "DOCUMENT_TOO_LARGE"},
	}
	for _, c := range refused {
		for _, lang := range []string{"fr", "en"} {
			r := f.upload(u, "identity_document", c.file, c.ctype, c.data, lang)
			if r.Status != c.status || r.Code() != c.code || r.Message() != i18n.Text(lang, c.code) {
				t.Errorf("%s (%s): want %d %s, got %d %s", c.name, lang, c.status, c.code, r.Status, r.Body)
			}
		}
	}
	if n := f.Count("SELECT count(*) FROM compliance_documents d JOIN compliance_cases c ON c.id = d.case_id WHERE c.user_id = $1", u.ID); n != 0 || len(f.objects()) != 0 {
		t.Fatalf("refused documents left %d rows and objects %v", n, f.objects())
	}
	// A document of the other case kind is refused before anything is stored.
	if r := f.upload(u, "company_registration", "kbis.pdf", "application/pdf", testkit.PDFDoc()); r.Status != 409 || r.Code() != "CASE_NOT_APPLICABLE" || len(f.objects()) != 0 {
		t.Fatalf("KYB document on a personal account: %d %s", r.Status, r.Body)
	}
	if r := f.upload(u, "passport", "p.pdf", "application/pdf", testkit.PDFDoc()); r.Status != 422 {
		t.Fatalf("unknown kind: %d %s", r.Status, r.Body)
	}
}

// The full user journey: data, the three documents (PDF, JPEG, PNG by content, whatever their
// names say), submission, and a reviewer reading the case with signed URLs serving the exact bytes.
func TestDocumentsSubmitAndReview(t *testing.T) {
	f := newFixture(t)
	u := f.CreateUser(testkit.WithoutKYC())
	if r := f.user(u, "PUT", "/api/v1/compliance/kyc", kycBody()); r.Status != 200 {
		t.Fatalf("kyc data: %d %s", r.Status, r.Body)
	}
	files := map[string][]byte{"identity_document": testkit.PDFDoc(), "proof_of_address": testkit.Picture(t, "jpeg"), "selfie": testkit.Picture(t, "png")}
	mimes := map[string]string{"identity_document": "application/pdf", "proof_of_address": "image/jpeg", "selfie": "image/png"}
	for kind, data := range files {
		// Names and declared types lie on purpose: only the content decides.
		r := f.upload(u, kind, "file.txt", "text/plain", data)
		sum := sha256.Sum256(data)
		if r.Status != 201 || r.Code() != "DOCUMENT_UPLOADED" {
			t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
		}
		if doc := testkit.DataOf[api.ComplianceDocument](t, r); string(doc.MimeType) != mimes[kind] ||
			doc.Sha256 != hex.EncodeToString(sum[:]) || doc.SizeBytes != int64(len(data)) {
			t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
		}
	}
	if len(f.objects()) != 3 {
		t.Fatalf("objects %v", f.objects())
	}
	r := f.user(u, "POST", "/api/v1/compliance/kyc/submit", nil)
	if r.Status != 200 || testkit.DataOf[api.ComplianceCase](t, r).Status != "submitted" || len(testkit.DataOf[api.ComplianceCase](t, r).Missing) != 0 {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	if r := f.upload(u, "selfie", "s.png", "image/png", testkit.Picture(t, "png")); r.Status != 409 || r.Code() != "CASE_NOT_EDITABLE" || len(f.objects()) != 3 {
		t.Fatalf("upload after submit: %d %s", r.Status, r.Body)
	}
	// Accepted documents claimed their upload guards; nothing is left for the deletions worker.
	if n := f.Count("SELECT count(*) FROM storage_deletions WHERE key LIKE $1", fmt.Sprintf("compliance/user_%d/%%", u.ID)); n != 0 {
		t.Fatalf("%d storage deletions queued", n)
	}
	id := int64(0)
	_ = f.QueryRow("SELECT id FROM compliance_cases WHERE user_id = $1", u.ID).Scan(&id)
	d := f.internal("GET", fmt.Sprintf("/api/v1/internal/compliance/cases/%d", id), nil)
	if d.Status != 200 {
		t.Fatalf("case: %d %s", d.Status, d.Body)
	}
	cd := testkit.DataOf[api.ComplianceCaseDetail](t, d)
	if cd.PersonalData == nil || cd.PersonalData.Nationality != "BEN" || len(cd.History) != 1 {
		t.Fatalf("case: %d %s", d.Status, d.Body)
	}
	for _, doc := range cd.Documents {
		r := f.Fetch(doc.Url)
		sum := sha256.Sum256(r.Body)
		if r.Status != 200 || hex.EncodeToString(sum[:]) != doc.Sha256 || !bytes.Equal(r.Body, files[string(doc.Kind)]) {
			t.Fatalf("signed URL of %s: %d, %d bytes", doc.Kind, r.Status, len(r.Body))
		}
	}
	if r := f.internal("GET", "/api/v1/internal/compliance/cases/999999999", nil, "en"); r.Status != 404 || r.Code() != "CASE_NOT_FOUND" || r.Message() != "Case not found." {
		t.Fatalf("unknown case: %d %s", r.Status, r.Body)
	}
	// Request more information: the user may edit again and resubmit.
	for _, a := range []string{"start_review", "request_info"} {
		f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/cases/%d/decision", id), map[string]any{"action": a, "reason": "Please send a recent proof of address."})
	}
	ov := testkit.DataOf[api.ComplianceOverview](t, f.user(u, "GET", "/api/v1/compliance", nil)).Cases[0]
	if ov.Status != "info_requested" || !testkit.Is(ov.DecisionReason, "Please send a recent proof of address.") {
		t.Fatalf("overview after request_info: %+v", ov)
	}
	if r := f.upload(u, "proof_of_address", "new.jpg", "image/jpeg", testkit.Picture(t, "jpeg")); r.Status != 201 {
		t.Fatalf("upload after request_info: %d %s", r.Status, r.Body)
	}
	if r := f.user(u, "POST", "/api/v1/compliance/kyc/submit", nil); r.Status != 200 {
		t.Fatalf("resubmit: %d %s", r.Status, r.Body)
	}
	if r := f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/cases/%d/decision", id), map[string]any{"action": "reject"}); r.Status != 422 {
		t.Fatalf("reject without a reason: %d %s", r.Status, r.Body)
	}
}
