package docs_test

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// operations lists "METHOD path operationId summary" for every operation of a document.
// oapi-codegen's embedded copy capitalises operationIds, so ids are compared case-insensitively.
func operations(t *testing.T, doc *openapi3.T) []string {
	t.Helper()
	var out []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, method+" "+path+" "+strings.ToLower(op.OperationID)+" "+op.Summary)
		}
	}
	sort.Strings(out)
	return out
}

// committedSpec loads openapi.yaml from the repository.
func committedSpec(t *testing.T) ([]byte, *openapi3.T) {
	t.Helper()
	raw, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	return raw, doc
}

func TestOpenAPISpecIsTheCommittedFile(t *testing.T) {
	env := testkit.New(t)
	want, served := committedSpec(t)
	for _, locale := range []string{"fr", "en"} {
		r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/openapi.yaml", Headers: map[string]string{"X-App-Locale": locale}})
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/yaml" {
			t.Fatalf("%s: status %d, content type %q", locale, r.Status, r.Header.Get("Content-Type"))
		}
		if !bytes.Equal(r.Body, want) {
			t.Fatalf("%s: served spec (%d bytes) differs from openapi.yaml (%d bytes)", locale, len(r.Body), len(want))
		}
	}
	// The served bytes are a valid contract describing the operations the server routes.
	generated, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := operations(t, served), operations(t, generated); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("served spec and gen/api disagree (run make generate):\nserved:\n%s\ngenerated:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// redocDefinition extracts the contract the Redoc page renders from.
var redocDefinition = regexp.MustCompile(`(?m)^\s*const __redoc_definition = (\{.*\});$`)

func TestDocsPageNamesEveryOperation(t *testing.T) {
	env := testkit.New(t)
	r := env.Do(testkit.Req{Method: "GET", Path: "/docs"})
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", r.Status, r.Header.Get("Content-Type"))
	}
	page := string(r.Body)
	onDisk, err := os.ReadFile("../../docs/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if page != string(onDisk) {
		t.Fatal("served page differs from docs/index.html")
	}
	if !strings.Contains(page, "<title>Flowxi API</title>") || !strings.Contains(page, `hydrate(__redoc_definition`) {
		t.Fatal("page is not the Redoc reference of the Flowxi API")
	}
	// Self-contained: no script is fetched from anywhere (the Redoc bundle is inlined).
	for _, remote := range []string{`<script src=`, `<link rel="modulepreload"`, `from "http`, `/redoc/v`} {
		if strings.Contains(page, remote) {
			t.Fatalf("page loads remote code (%q)", remote)
		}
	}

	_, spec := committedSpec(t)
	m := redocDefinition.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no __redoc_definition in the page")
	}
	var def openapi3.T
	if err := json.Unmarshal([]byte(m[1]), &def); err != nil {
		t.Fatalf("__redoc_definition: %v", err)
	}
	// Every operation of the contract, with its id and summary, is what the page renders, and
	// nothing else: a page built from an older openapi.yaml fails here.
	want, got := operations(t, spec), operations(t, &def)
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			// The exact ids, not only their lower-case form, are named by the page.
			if !strings.Contains(m[1], `"operationId":"`+op.OperationID+`"`) {
				t.Errorf("page lacks operationId %s", op.OperationID)
			}
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("page is stale (run make generate):\npage:\n%s\nspec:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) < 20 {
		t.Fatalf("only %d operations: spec not loaded?", len(want))
	}
	// The server-rendered part (before any script runs) names every tag in the navigation.
	prerendered := html.UnescapeString(page[:strings.Index(page, "<script type=\"module\">")])
	for _, tag := range spec.Tags {
		if !strings.Contains(prerendered, ">"+tag.Name+"<") {
			t.Errorf("prerendered navigation lacks tag %q", tag.Name)
		}
	}
}

// TestDocsAreCachedAndRevalidated: both documents carry a strong ETag and a short public lifetime
// (not the API's no-store); If-None-Match with that tag (alone, in a list, weak, or `*`) is a 304
// without a body, with the same validator; a stale tag gets the full document again.
func TestDocsAreCachedAndRevalidated(t *testing.T) {
	env := testkit.New(t)
	for _, path := range []string{"/api/v1/openapi.yaml", "/docs"} {
		full := env.Do(testkit.Req{Method: "GET", Path: path})
		etag := full.Header.Get("ETag")
		if full.Status != 200 || !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
			t.Fatalf("%s: status %d, ETag %q", path, full.Status, etag)
		}
		if cc := full.Header.Get("Cache-Control"); cc != "public, max-age=300" {
			t.Fatalf("%s: Cache-Control %q", path, cc)
		}
		for _, inm := range []string{etag, `"stale", ` + etag, "W/" + etag, "*"} {
			r := env.Do(testkit.Req{Method: "GET", Path: path, Headers: map[string]string{"If-None-Match": inm}})
			if r.Status != 304 || len(r.Body) != 0 || r.Header.Get("ETag") != etag || r.Header.Get("Cache-Control") != "public, max-age=300" {
				t.Fatalf("%s If-None-Match %s: status %d, %d bytes, ETag %q, Cache-Control %q", path, inm, r.Status, len(r.Body), r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
			}
		}
		stale := env.Do(testkit.Req{Method: "GET", Path: path, Headers: map[string]string{"If-None-Match": `"0123"`}})
		if stale.Status != 200 || !bytes.Equal(stale.Body, full.Body) {
			t.Fatalf("%s: a stale tag got %d (%d bytes)", path, stale.Status, len(stale.Body))
		}
	}
	// Every other answer keeps no-store.
	if r := env.Do(testkit.Req{Method: "GET", Path: "/api/v1/health"}); r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("health: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
}
