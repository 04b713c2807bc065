package flowxi_test

import (
	"bytes"
	"go/ast"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a hand-written function may be (tests and gen/ aside).
const maxFuncLines = 80

func TestNoLongFunctions(t *testing.T) {
	eachFunc(t, ".", func(fset *token.FileSet, file string, fn *ast.FuncDecl) {
		if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFuncLines {
			t.Errorf("%s: %s is %d lines (at most %d): split it", file, fn.Name.Name, n, maxFuncLines)
		}
	})
}

// TestOneNotFoundTest keeps the not-found test in one place: pg.IsNotFound, not pgx.ErrNoRows
// compared here and there (tests included).
func TestOneNotFoundTest(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDir(".", path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || filepath.ToSlash(filepath.Dir(path)) == "infra/pg" || path == "rules_test.go" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err == nil && bytes.Contains(src, []byte("pgx.ErrNoRows")) {
			t.Errorf("%s tests pgx.ErrNoRows: use pg.IsNotFound", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
