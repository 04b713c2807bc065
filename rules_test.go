package flowxi_test

import (
	"bytes"
	"go/ast"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// independentCodes are the codes more than one package declares on purpose: each package's own
// refusal, checked and answered there, that no other package reads back. A code one package
// returns and another recognises (by comparing codes) must have one declaration both use.
var independentCodes = map[string]string{
	"USER_NOT_FOUND":    "compliance, support and privacy each look a user up by id for their own operations",
	"TWOFA_NOT_ENABLED": "twofactor's disable and verify, support's reset request: separate checks of the user row",
}

// TestOneDeclarationPerCode finds every apierr.New(status, "CODE") outside tests and gen/, and
// fails when a code is declared in two packages and is not one of independentCodes.
func TestOneDeclarationPerCode(t *testing.T) {
	homes := map[string]map[string]bool{} // code → the directories declaring it
	eachFile(t, ".", func(_ *token.FileSet, path string, file *ast.File) {
		ast.Inspect(file, func(n ast.Node) bool {
			if code, ok := declaredCode(n); ok {
				if homes[code] == nil {
					homes[code] = map[string]bool{}
				}
				homes[code][filepath.Dir(path)] = true
			}
			return true
		})
	})
	for code, dirs := range homes {
		if _, ok := independentCodes[code]; len(dirs) > 1 && !ok {
			t.Errorf("%s is declared in %d packages %v: keep one declaration and use it from the others", code, len(dirs), slices.Sorted(maps.Keys(dirs)))
		}
	}
}

// declaredCode returns the code of a call apierr.New(status, "CODE") (New(…) inside kit/apierr).
func declaredCode(n ast.Node) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 {
		return "", false
	}
	switch fun := call.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); !ok || x.Name != "apierr" || fun.Sel.Name != "New" {
			return "", false
		}
	case *ast.Ident:
		if fun.Name != "New" {
			return "", false
		}
	default:
		return "", false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	code, err := strconv.Unquote(lit.Value)
	return code, err == nil
}
