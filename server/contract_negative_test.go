package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// TestContractNegative derives bad requests from openapi.yaml for every operation with a JSON
// body: each required field removed, each field of the wrong type, each string oversized. Every
// answer must be a documented 4xx envelope (the harness fails on anything undocumented), never a
// 5xx, and nothing may be written.
func TestContractNegative(t *testing.T) {
	env := testkit.New(t)
	user := env.CreateUser()
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, env)
	paths := spec.Paths.InMatchingOrder()
	sort.Strings(paths)
	sent := 0
	for _, path := range paths {
		item := spec.Paths.Value(path)
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			schema := mt.Schema.Value
			base, ok := mt.Example.(map[string]any)
			if !ok {
				t.Errorf("%s %s: request body has no object example", method, path)
				continue
			}
			target := strings.NewReplacer("{id}", "1").Replace(path)
			for _, v := range variants(base, schema) {
				req := testkit.Req{Method: method, Path: target, JSON: v.body, Token: user.Token,
					Headers: map[string]string{"Idempotency-Key": "neg-" + v.name, "X-App-Locale": "en"}}
				r := env.Do(req)
				sent++
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("%s %s (%s): got %d %s", method, path, v.name, r.Status, r.Body)
				}
			}
		}
	}
	if sent < 50 {
		t.Fatalf("only %d negative requests derived from the spec", sent)
	}
	after := rowCounts(t, env)
	for table, n := range after {
		if before[table] != n {
			t.Errorf("table %s changed from %d to %d rows", table, before[table], n)
		}
	}
}

type variant struct {
	name string
	body map[string]any
}

func variants(base map[string]any, schema *openapi3.Schema) []variant {
	var out []variant
	clone := func() map[string]any {
		b, _ := json.Marshal(base)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	for _, f := range schema.Required {
		m := clone()
		delete(m, f)
		out = append(out, variant{"missing-" + f, m})
	}
	names := make([]string, 0, len(schema.Properties))
	for n := range schema.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := schema.Properties[n].Value
		m := clone()
		switch {
		case p.Type.Is("string"):
			m[n] = 12345
		case p.Type.Is("integer") || p.Type.Is("number"):
			m[n] = "12"
		case p.Type.Is("boolean"):
			m[n] = "yes"
		default:
			m[n] = []any{"x"}
		}
		out = append(out, variant{"type-" + n, m})
		if p.Type.Is("string") && p.Format == "" && len(p.Enum) == 0 {
			m := clone()
			size := 5000
			if p.MaxLength != nil {
				size = int(*p.MaxLength) + 1
			}
			m[n] = strings.Repeat("é", size)
			out = append(out, variant{"oversize-" + n, m})
		}
	}
	return out
}

// rowCounts counts the rows of every table of the schema, once the audit events written so far
// are sealed: otherwise the background sealer could add a seal between two counts.
func rowCounts(t *testing.T, env *testkit.Env) map[string]int64 {
	if _, err := env.SealAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := env.Query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'")
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]int64{}
	for _, tb := range tables {
		var n int64
		if err := env.QueryRow(fmt.Sprintf("SELECT count(*) FROM %q", tb)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}
