package flowxi_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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

// TestReadmeLayoutNamesEveryPackage keeps the README's layout section in step with the tree:
// every top-level folder is a row of its table (`name/…`), and every package under kit/, infra/
// and services/ is named in it (`name`), so a package added without a word there fails here.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	_, layout, ok := strings.Cut(string(readReadme(t)), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no `## Layout` section")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	top, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range top {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") && d.Name() != "node_modules" && !strings.Contains(layout, "`"+d.Name()+"/") {
			t.Errorf("README.md's layout table has no row for %s/", d.Name())
		}
	}
	for _, root := range []string{"kit", "infra", "services"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			goFiles, err := filepath.Glob(filepath.Join(path, "*.go"))
			if err == nil && len(goFiles) > 0 && path != root && !strings.Contains(layout, "`"+d.Name()+"`") {
				t.Errorf("README.md's layout section does not name the package %s (`%s`)", filepath.ToSlash(path), d.Name())
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestEveryQueryIsUsed: every sqlc query (queries/*.sql) is called, or taken as a method value,
// on a *db.Queries (q, ….q or ….Q, the convention calledQueries follows) by hand-written code
// outside tests and testkit. A query nothing runs is SQL to maintain for nothing.
func TestEveryQueryIsUsed(t *testing.T) {
	queries := queryNames(t)
	used := map[string]bool{}
	eachFile(t, ".", func(_ *token.FileSet, path string, file *ast.File) {
		if strings.HasPrefix(path, "testkit/") || strings.HasPrefix(path, "bench/") {
			return
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && queries[sel.Sel.Name] && isQueries(sel.X) {
				used[sel.Sel.Name] = true
			}
			return true
		})
	})
	if len(queries) < 100 {
		t.Fatalf("only %d queries found in gen/db", len(queries))
	}
	for _, name := range slices.Sorted(maps.Keys(queries)) {
		if !used[name] {
			t.Errorf("query %s is run by no hand-written code outside tests: delete it from queries/", name)
		}
	}
}

// TestEachCodeHasOneStatus: a code gets its HTTP status in one place, one apierr.New call in
// hand-written code; every other use refers to that error. Two calls for one code could come
// to disagree.
func TestEachCodeHasOneStatus(t *testing.T) {
	at := map[string][]string{}
	eachFile(t, ".", func(fset *token.FileSet, path string, file *ast.File) {
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 || !isApierrNew(call.Fun, path) {
				return true
			}
			if code, ok := call.Args[1].(*ast.BasicLit); ok && code.Kind == token.STRING {
				at[code.Value] = append(at[code.Value], fmt.Sprintf("%s:%d", path, fset.Position(call.Pos()).Line))
			}
			return true
		})
	})
	if len(at) < 50 {
		t.Fatalf("only %d codes found", len(at))
	}
	for code, places := range at {
		if len(places) > 1 {
			t.Errorf("code %s is given its status %d times (%s): define it once and refer to it", code, len(places), strings.Join(places, ", "))
		}
	}
}

// isApierrNew reports a call of apierr.New (New inside kit/apierr itself).
func isApierrNew(fun ast.Expr, path string) bool {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		return ok && x.Name == "apierr" && f.Sel.Name == "New"
	case *ast.Ident:
		return f.Name == "New" && strings.HasPrefix(path, "kit/apierr/")
	}
	return false
}
