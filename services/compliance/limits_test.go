package compliance_test

import (
	"bytes"
	"strconv"
	"sync"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/testkit"
)

// paddedPDF is a valid PDF of about n bytes.
func paddedPDF(n int) []byte {
	return append(append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{' '}, n)...), []byte("\n%%EOF\n")...)
}

// stored checks that u has exactly want document rows and objects, and that no upload left a
// guarded or queued object behind.
func (f *fixture) stored(u testkit.User, want int) {
	f.T.Helper()
	rows := f.Count("SELECT count(*) FROM compliance_documents d JOIN compliance_cases c ON c.id = d.case_id WHERE c.user_id = $1", u.ID)
	if objs := f.objects(); rows != want || len(objs) != want {
		f.T.Fatalf("want %d documents, got %d rows and objects %v", want, rows, objs)
	}
	if n := f.Count("SELECT count(*) FROM storage_deletions"); n != 0 {
		f.T.Fatalf("%d storage deletions left", n)
	}
}

// refused checks a localized refusal in both locales.
func (f *fixture) refused(upload func(lang string) *testkit.Resp, status int, code string) {
	f.T.Helper()
	for _, lang := range []string{"fr", "en"} {
		if r := upload(lang); r.Status != status || r.Code() != code || r.Message() != i18n.Text(lang, code) {
			f.T.Fatalf("%s: want %d %s, got %d %s", lang, status, code, r.Status, r.Body)
		}
	}
}

// With the documented default of 10, an eleventh version of one kind is refused and stores
// nothing; another kind of the same case still has room.
func TestDocumentVersionsPerKindAreCapped(t *testing.T) {
	f := newFixture(t, testkit.StartS3(t).Configure)
	u := f.CreateUser(testkit.WithoutKYC())
	png := testkit.Picture(t, "png")
	for i := 0; i < 10; i++ {
		if r := f.upload(u, "selfie", "s.png", "image/png", png); r.Status != 201 {
			t.Fatalf("version %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	f.refused(func(lang string) *testkit.Resp { return f.upload(u, "selfie", "s.png", "image/png", png, lang) }, 409, "DOCUMENT_VERSIONS_EXCEEDED")
	f.stored(u, 10)
	if r := f.upload(u, "identity_document", "id.pdf", "application/pdf", testkit.PDFDoc()); r.Status != 201 {
		t.Fatalf("another kind: %d %s", r.Status, r.Body)
	}
	f.stored(u, 11)
}

// Every version of every kind counts towards the bytes of a case; a document that would pass
// them is refused, a smaller one still fits.
func TestCaseDocumentBytesAreCapped(t *testing.T) {
	s3 := testkit.StartS3(t)
	f := newFixture(t, s3.Configure, func(c *config.Config) { c.DocumentBytesPerCase = 250 << 10 })
	u := f.CreateUser(testkit.WithoutKYC())
	big := paddedPDF(100 << 10)
	for _, kind := range []string{"identity_document", "proof_of_address"} {
		if r := f.upload(u, kind, "d.pdf", "application/pdf", big); r.Status != 201 {
			t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
		}
	}
	f.refused(func(lang string) *testkit.Resp { return f.upload(u, "selfie", "d.pdf", "application/pdf", big, lang) }, 409, "CASE_STORAGE_EXCEEDED")
	f.stored(u, 2)
	if r := f.upload(u, "selfie", "s.png", "image/png", testkit.Picture(t, "png")); r.Status != 201 {
		t.Fatalf("small document: %d %s", r.Status, r.Body)
	}
	f.stored(u, 3)
}

// Upload attempts are limited per user, refused ones included, before the file is read: 429
// RATE_LIMITED with Retry-After. Another user is not affected.
func TestDocumentUploadsAreRateLimited(t *testing.T) {
	f := newFixture(t, testkit.StartS3(t).Configure, func(c *config.Config) { c.DocumentUploadsPerHour = 3 })
	u, other := f.CreateUser(testkit.WithoutKYC()), f.CreateUser(testkit.WithoutKYC())
	if r := f.upload(u, "selfie", "s.png", "image/png", []byte("not an image")); r.Status != 415 {
		t.Fatalf("refused upload: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 2; i++ {
		if r := f.upload(u, "identity_document", "id.pdf", "application/pdf", testkit.PDFDoc()); r.Status != 201 {
			t.Fatalf("upload %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, lang := range []string{"fr", "en"} {
		r := f.upload(u, "identity_document", "id.pdf", "application/pdf", testkit.PDFDoc(), lang)
		if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.Status != 429 || r.Code() != "RATE_LIMITED" || r.Message() != i18n.Text(lang, "RATE_LIMITED") || ra < 1 {
			t.Fatalf("%s: %d %s (Retry-After %q)", lang, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}
	f.stored(u, 2)
	if r := f.upload(other, "identity_document", "id.pdf", "application/pdf", testkit.PDFDoc()); r.Status != 201 {
		t.Fatalf("other user: %d %s", r.Status, r.Body)
	}
}

// Concurrent uploads cannot pass the cap together: it is checked again under the case's lock,
// and the objects of the losers are deleted at once.
func TestDocumentCapHoldsUnderConcurrentUploads(t *testing.T) {
	f := newFixture(t, testkit.StartS3(t).Configure, func(c *config.Config) { c.DocumentVersionsPerKind = 2 })
	u := f.CreateUser(testkit.WithoutKYC())
	png := testkit.Picture(t, "png")
	const n = 8
	statuses := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := f.upload(u, "selfie", "s.png", "image/png", png)
			statuses[i] = strconv.Itoa(r.Status) + " " + r.Code()
		}(i)
	}
	wg.Wait()
	count := map[string]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count["201 DOCUMENT_UPLOADED"] != 2 || count["409 DOCUMENT_VERSIONS_EXCEEDED"] != n-2 {
		t.Fatalf("answers: %v", count)
	}
	f.stored(u, 2)
}
