package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var pdftotextOnce sync.Once

// PDFText extracts the text of a PDF with `pdftotext -layout` (Debian's poppler-utils: a table
// row comes out as one line), no-break spaces turned into plain ones. When pdftotext is missing
// it is installed first by `scripts/services.sh pdftotext` (apt-get, as root, like PostgreSQL);
// a machine where that fails fails the test: nothing is skipped.
func PDFText(t testing.TB, pdf []byte) string {
	t.Helper()
	pdftotextOnce.Do(func() {
		if _, err := exec.LookPath("pdftotext"); err == nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "scripts", "services.sh")
		if out, err := exec.Command("bash", script, "pdftotext").CombinedOutput(); err != nil {
			t.Logf("testkit: %s pdftotext: %v\n%s", script, err, out)
		}
	})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("testkit: pdftotext (poppler-utils; scripts/services.sh pdftotext installs it): %v", err)
	}
	return strings.ReplaceAll(string(out), "\u00a0", " ")
}
