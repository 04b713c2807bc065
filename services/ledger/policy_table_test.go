package ledger

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// specRule is one row of the money policy table in openapi.yaml.
type specRule struct {
	code   string
	status int
	cols   map[string]bool
}

// specPolicy reads the money policy table from openapi.yaml: the rows after the money-policy marker.
func specPolicy(t testing.TB) []specRule {
	t.Helper()
	b, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "<!-- money-policy")
	if !ok {
		t.Fatal("openapi.yaml: no money-policy table")
	}
	var header []string
	var out []specRule
	for _, line := range strings.Split(table, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "-"):
		default:
			n := len(cells)
			status, err := strconv.Atoi(cells[n-1])
			if err != nil {
				t.Fatalf("policy row %q: HTTP %q", line, cells[n-1])
			}
			r := specRule{code: cells[n-2], status: status, cols: map[string]bool{}}
			for i := 2; i < n-2; i++ {
				if cells[i] == "✓" {
					r.cols[header[i]] = true
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// SpecPolicy exposes the spec's table to the HTTP tests (package ledger_test).
func SpecPolicy(t testing.TB) []SpecRule {
	var out []SpecRule
	for _, r := range specPolicy(t) {
		out = append(out, SpecRule{Code: r.code, Status: r.status, Columns: r.cols})
	}
	return out
}

// SpecRule is a row of the spec's money policy table.
type SpecRule struct {
	Code    string
	Status  int
	Columns map[string]bool
}

// The Go table and the spec's are the same table, row for row: same order, same code, same
// sides, same HTTP status.
func TestPolicyTableMatchesSpec(t *testing.T) {
	spec := specPolicy(t)
	if len(spec) != len(policy) {
		t.Fatalf("spec has %d rules, policy.go %d", len(spec), len(policy))
	}
	for i, r := range policy {
		cols := map[string]bool{}
		for _, c := range r.cols {
			cols[columnNames[c]] = true
		}
		s := spec[i]
		if s.code != r.code || !reflect.DeepEqual(s.cols, cols) || s.status != rejectionStatus(r.code) {
			t.Errorf("rule %d (%s): spec says %s %d on %v; policy.go says %s %d on %v",
				i+1, r.name, s.code, s.status, s.cols, r.code, rejectionStatus(r.code), cols)
		}
	}
}

// Every operation states which column of the policy governs each of its sides: a new operation
// added to the op list without a row in `sides` fails here.
func TestEveryOperationStatesItsPolicy(t *testing.T) {
	for o := op(0); o < opCount; o++ {
		sd := sides[o]
		if sd.debit == colUnstated || sd.credit == colUnstated {
			t.Errorf("operation %d has no policy column for its debit or credit side", o)
		}
		if kindOf[o] == "" {
			t.Errorf("operation %d records no transaction kind", o)
		}
	}
	// Every column but void has at least one rule, and every rule names a column.
	seen := map[column]bool{}
	for _, r := range policy {
		if len(r.cols) == 0 || r.breaks == nil {
			t.Errorf("rule %q applies nowhere", r.name)
		}
		for _, c := range r.cols {
			seen[c] = true
		}
	}
	for c := colTransferOut; c < columnCount; c++ {
		if c != colVoid && !seen[c] {
			t.Errorf("column %q has no rule", columnNames[c])
		}
	}
}
