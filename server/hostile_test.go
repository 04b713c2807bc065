package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/testkit"
)

// TestHostileInput walks openapi.yaml: for every operation it builds a valid request (real
// credentials: a KYC-approved user with a funded wallet, an internal key with every scope the
// spec names; bodies from the spec's examples), then sends it with one thing made hostile at a
// time — each parameter, each body member at any depth, each multipart part, the body as a
// whole. Every answer must be a documented 4xx (testkit checks it against the spec), a string
// refused for its characters must be named in `errors`, no table may gain or lose a row and the
// server log must hold no panic and no failed request. New operations are covered as they are
// added to the spec.
func TestHostileInput(t *testing.T) {
	logs := &testkit.LogBuffer{}
	env := testkit.NewWithLog(t, logs)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	h := newHostile(t, env, spec)
	start := time.Now()
	covered, total := 0, 0
	for _, path := range sortedPaths(spec) {
		item := spec.Paths.Value(path)
		for _, method := range sortedMethods(item) {
			total++
			// A fresh caller per operation: hostile input wrongly accepted by one operation (a
			// logout, a block) cannot hide what the next one does.
			h.newCaller()
			before := rowCounts(t, env)
			if n := h.sendOperation(path, method, item.GetOperation(method), item.Parameters); n > 0 {
				covered++
			}
			for table, n := range rowCounts(t, env) {
				// audit_seals and event_feed grow only when audit_events and events did (the sealer
				// and the event sequencer catch up later, with the set-up's rows).
				if before[table] != n && table != "audit_seals" && table != "event_feed" {
					t.Errorf("%s %s: table %s changed from %d to %d rows", method, path, table, before[table], n)
				}
			}
		}
	}
	t.Logf("hostile input: %d requests, %d of %d operations, %s", h.sent, covered, total, time.Since(start).Round(time.Millisecond))
	if covered < total {
		t.Errorf("only %d of %d operations received hostile input", covered, total)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"panic"`) || strings.Contains(line, `"request failed"`) {
			t.Errorf("server log: %.400s", line)
		}
	}
}

// hostile holds the fixture and sends the requests.
type hostile struct {
	t      *testing.T
	env    *testkit.Env
	user   testkit.User
	key    string
	ids    map[string]int64 // path segment before an {id} → a real id of the fixture
	values map[string]any   // body member name → a value of the fixture
	sent   int
	idem   int
}

func newHostile(t *testing.T, env *testkit.Env, spec *openapi3.T) *hostile {
	key := env.CreateInternalKey(fmt.Sprintf("hostile-%d", time.Now().UnixNano()), allScopes(spec)...)
	return &hostile{t: t, env: env, key: key}
}

// newCaller makes a KYC-approved user with a funded wallet and an open hold the caller, a peer
// the recipient of transfers and a subject the user the internal compliance operations act on.
func (h *hostile) newCaller() {
	env := h.env
	user, peer, subject := env.CreateUser(), env.CreateUser(), env.CreateUser()
	wallet, peerWallet := h.openWallet(user), h.openWallet(peer)
	deposit := h.internal("POST", "/api/v1/internal/deposits", map[string]any{"wallet_id": wallet, "amount": 100000, "currency": "EUR", "external_reference": fmt.Sprintf("hostile-deposit-%d", time.Now().UnixNano())})
	hold := h.internal("POST", "/api/v1/internal/holds", map[string]any{"wallet_id": wallet, "amount": 1000, "currency": "EUR", "external_reference": fmt.Sprintf("hostile-hold-%d", time.Now().UnixNano())})
	var caseID int64
	if err := env.QueryRow("SELECT id FROM compliance_cases WHERE user_id = $1", subject.ID).Scan(&caseID); err != nil {
		h.t.Fatal(err)
	}
	h.user = user
	h.ids = map[string]int64{"wallets": wallet, "transfers": deposit, "holds": hold, "cases": caseID, "users": subject.ID}
	h.values = map[string]any{"email": user.Email, "password": user.Password, "wallet_id": wallet, "from_wallet_id": wallet, "to_wallet_id": peerWallet, "to_username": peer.Username, "user_id": subject.ID}
}

// allScopes grants "area:*" for every scope area an operation description names (`ledger:read`).
func allScopes(spec *openapi3.T) []string {
	re := regexp.MustCompile("`([a-z]+):[a-z*]+`")
	var out []string
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			for _, m := range re.FindAllStringSubmatch(op.Description, -1) {
				if s := m[1] + ":*"; !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func (h *hostile) openWallet(u testkit.User) int64 {
	r := h.env.Do(testkit.Req{Method: "POST", Path: "/api/v1/wallets", Token: u.Token, JSON: map[string]any{"currency": "EUR"}})
	if r.Status != 201 {
		h.t.Fatalf("open wallet: %d %s", r.Status, r.Body)
	}
	return testkit.DataOf[api.Wallet](h.t, r).Id
}

func (h *hostile) internal(method, path string, body any) int64 {
	r := h.env.Do(testkit.Req{Method: method, Path: path, JSON: body, Headers: map[string]string{"X-Internal-Key": h.key, "Idempotency-Key": fmt.Sprintf("fixture-%d", time.Now().UnixNano())}})
	if r.Status != 201 {
		h.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return testkit.DataOf[struct {
		Id int64 `json:"id"` // a deposit's transaction or a hold
	}](h.t, r).Id
}

// request is one request under construction: path and query parameters, headers, body.
type request struct {
	method, path string
	query        url.Values
	headers      map[string]string
	raw          []byte
	ctype        string
}

func (r request) clone() request {
	c := r
	c.query = url.Values{}
	for k, v := range r.query {
		c.query[k] = slices.Clone(v)
	}
	c.headers = map[string]string{}
	for k, v := range r.headers {
		c.headers[k] = v
	}
	return c
}

// sendOperation sends every hostile variant of one operation and returns how many.
func (h *hostile) sendOperation(path, method string, op *openapi3.Operation, shared openapi3.Parameters) int {
	params := append(slices.Clone(shared), op.Parameters...)
	pathValues := map[string]string{}
	base := request{method: method, query: url.Values{}, headers: map[string]string{}}
	for _, ref := range params {
		p := ref.Value
		switch {
		case p.In == "path":
			pathValues[p.Name] = h.pathValue(path, p)
		case p.Required && p.In == "query":
			base.query.Set(p.Name, fmt.Sprint(sample(p.Schema.Value, p.Example)))
		}
	}
	h.authorize(op, base.headers)
	base.path = substitute(path, pathValues)
	var body *bodyShape
	if op.RequestBody != nil {
		body = h.baseBody(op.RequestBody.Value)
		base.raw, base.ctype = body.raw, body.ctype
	}
	n := 0
	send := func(name string, r request, field string) {
		n++
		h.send(name, r, field)
	}
	for _, ref := range params {
		p := ref.Value
		for _, v := range paramValues(p) {
			r := base.clone()
			name := fmt.Sprintf("%s %s %s %q", method, path, p.Name, truncate(v))
			switch p.In {
			case "path":
				pv := maps(pathValues, p.Name, url.PathEscape(v))
				r.path = substitute(path, pv)
			case "query":
				r.query.Set(p.Name, v)
			case "header":
				if strings.ContainsFunc(v, func(c rune) bool { return c < ' ' || c == 0x7f }) {
					continue // net/http will not send these; the server never sees them
				}
				r.headers[p.Name] = v
			}
			send(name, r, p.Name)
		}
	}
	if body != nil {
		for _, v := range body.variants() {
			r := base.clone()
			r.raw, r.ctype = v.raw, v.ctype
			send(fmt.Sprintf("%s %s body %s", method, path, v.name), r, v.field)
		}
	}
	return n
}

func maps(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func substitute(path string, values map[string]string) string {
	for k, v := range values {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	return path
}

// pathValue is a real id of the fixture for an integer parameter after a known segment
// (`/wallets/{id}`), else the parameter's example, first enum value or 1.
func (h *hostile) pathValue(path string, p *openapi3.Parameter) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s == "{"+p.Name+"}" && i > 0 {
			if id, ok := h.ids[segs[i-1]]; ok {
				return strconv.FormatInt(id, 10)
			}
		}
	}
	return fmt.Sprint(sample(p.Schema.Value, p.Example))
}

func (h *hostile) authorize(op *openapi3.Operation, headers map[string]string) {
	if op.Security == nil {
		return
	}
	for _, req := range *op.Security {
		if _, ok := req["bearerAuth"]; ok {
			headers["Authorization"] = "Bearer " + h.user.Token
		}
		if _, ok := req["internalKey"]; ok {
			headers["X-Internal-Key"] = h.key
		}
	}
}

// send sends one variant: it must be a 4xx, and when field is set, a 422 naming it.
func (h *hostile) send(name string, r request, field string) {
	h.t.Helper()
	h.idem++
	headers := map[string]string{"X-App-Locale": "en", "Idempotency-Key": fmt.Sprintf("hostile-%d", h.idem)}
	for k, v := range r.headers {
		headers[k] = v
	}
	target := r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	req := testkit.Req{Method: r.method, Path: target, Raw: r.raw, Type: r.ctype, Headers: headers}
	h.sent++
	res := h.env.Do(req)
	if res.Status == 429 {
		// A limit says nothing about the input: reset the limiters, send it again.
		h.resetLimits()
		h.sent++
		res = h.env.Do(req)
	}
	switch {
	case res.Status < 400 || res.Status >= 500:
		h.t.Errorf("%s: got %d %.300s", name, res.Status, res.Body)
	case field != "" && (res.Status != 422 || res.Errors()[field] == nil):
		h.t.Errorf("%s: want 422 naming %q, got %d %.300s", name, field, res.Status, res.Body)
	case field != "":
		for _, m := range testkit.Decode[api.ValidationError](h.t, res).Errors[field] {
			if !strings.Contains(m, field) {
				h.t.Errorf("%s: message %q does not name %q", name, m, field)
			}
		}
	}
}

// resetLimits deletes the rate limiters' Redis keys of this test.
func (h *hostile) resetLimits() {
	ctx := h.t.Context()
	r := h.env.Redis()
	iter := r.Scan(ctx, 0, "rate:"+h.env.Cfg.RedisPrefix+"*", 1000).Iterator() // redis_rate adds "rate:"
	for iter.Next(ctx) {
		r.Del(ctx, iter.Val())
	}
}

func truncate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// refusedText are the strings the character rule refuses everywhere; single-line fields also
// refuse tab, LF and CR.
var refusedText = []string{"a\x00b", "a\x07b", "a\x1b[31m", "a\u0085b", "a\u009bb", "caf\xe9", "\xff\xfe", "\xed\xa0\x80", "abc\u202edcba", "\u2066x\u2069", "x\x7f"}

// paramValues are the hostile values of a parameter (its schema decides which).
func paramValues(p *openapi3.Parameter) []string {
	s := p.Schema.Value
	out := append(slices.Clone(refusedText), strings.Repeat("a", 100000))
	if !multiline(s) {
		out = append(out, "a\nb", "a\tb")
	}
	if s.Min != nil {
		out = append(out, strconv.FormatFloat(*s.Min-1, 'f', -1, 64)) // GET /transfers/0 named `body` once
	}
	if s.Type.Is("integer") || s.Type.Is("number") {
		out = append(out, "9223372036854775808", "-9223372036854775809", "1e309", "1.5", "NaN", "twelve")
	}
	if s.Type.Is("boolean") {
		out = append(out, "yes", "2")
	}
	return out
}

func sortedPaths(spec *openapi3.T) []string {
	paths := spec.Paths.InMatchingOrder()
	sort.Strings(paths)
	return paths
}

func sortedMethods(item *openapi3.PathItem) []string {
	var out []string
	for m := range item.Operations() {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// multiline mirrors the server's reading of `x-multiline: true`.
func multiline(s *openapi3.Schema) bool {
	v, _ := s.Extensions["x-multiline"].(bool)
	return v
}

// sample is a valid value for a schema: the example, the first enum value, else a plain value
// of its type (objects with their required members).
func sample(s *openapi3.Schema, example any) any {
	switch {
	case example != nil:
		return example
	case s.Example != nil:
		return s.Example
	case len(s.Enum) > 0:
		return s.Enum[0]
	case s.Default != nil:
		return s.Default
	case s.Type.Is("integer") || s.Type.Is("number"):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case s.Type.Is("boolean"):
		return true
	case s.Type.Is("array"):
		return []any{}
	case s.Type.Is("object"):
		m := map[string]any{}
		for _, name := range s.Required {
			if p := s.Properties[name]; p != nil {
				m[name] = sample(p.Value, nil)
			}
		}
		return m
	}
	return "x"
}

// bodyShape is an operation's valid body and its schema.
type bodyShape struct {
	ctype  string
	schema *openapi3.Schema
	value  any            // JSON: the decoded valid body
	parts  map[string]any // multipart: part name → text, or []byte for a file
	raw    []byte
}

type bodyVariant struct {
	name, field string
	raw         []byte
	ctype       string
}

// baseBody builds a valid body from the spec's example, with the fixture's ids put in.
func (h *hostile) baseBody(rb *openapi3.RequestBody) *bodyShape {
	if mt := rb.Content.Get("application/json"); mt != nil {
		v := h.withFixture(sample(mt.Schema.Value, mt.Example))
		b := &bodyShape{ctype: "application/json", schema: mt.Schema.Value, value: v}
		b.raw, _ = json.Marshal(v)
		return b
	}
	for ctype, mt := range rb.Content {
		if ctype != "multipart/form-data" {
			continue
		}
		b := &bodyShape{ctype: ctype, schema: mt.Schema.Value, parts: map[string]any{}}
		ex, _ := mt.Example.(map[string]any)
		for name, p := range mt.Schema.Value.Properties {
			if p.Value.Format == "binary" {
				b.parts[name] = []byte("not a real file")
			} else {
				b.parts[name] = fmt.Sprint(sample(p.Value, ex[name]))
			}
		}
		b.raw, b.ctype = multipartBody(b.parts, "", "")
		return b
	}
	h.t.Fatalf("request body of unknown type: %v", rb.Content)
	return nil
}

func (h *hostile) withFixture(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if f, ok := h.values[k]; ok {
					t[k] = f
				} else {
					walk(c)
				}
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(out)
	return out
}

// multipartBody encodes parts; hostilePart (when set) gets value hostile instead, as text or as
// a file name.
func multipartBody(parts map[string]any, hostilePart, hostile string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch v := parts[n].(type) {
		case []byte:
			filename := "file.pdf"
			if n == hostilePart {
				filename = hostile
			}
			fw, _ := w.CreateFormFile(n, filename)
			_, _ = fw.Write(v)
		case string:
			if n == hostilePart {
				v = hostile
			}
			_ = w.WriteField(n, v)
		}
	}
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// variants are the hostile bodies: each member (at any depth) made hostile, then the body as a
// whole.
func (b *bodyShape) variants() []bodyVariant {
	if b.parts != nil {
		return b.multipartVariants()
	}
	var out []bodyVariant
	walkMembers(b.schema, b.value, nil, func(path []string, s *openapi3.Schema) {
		for _, lit := range jsonValues(s) {
			raw := replaceAt(b.value, path, lit.raw)
			field := ""
			if lit.named {
				field = strings.Join(path, ".")
			}
			out = append(out, bodyVariant{name: strings.Join(path, ".") + " = " + truncate(lit.raw), field: field, raw: raw, ctype: b.ctype})
		}
	})
	return append(out, b.wholeBody()...)
}

func (b *bodyShape) multipartVariants() []bodyVariant {
	var out []bodyVariant
	for name, v := range b.parts {
		_, file := v.([]byte)
		for _, s := range refusedText {
			raw, ct := multipartBody(b.parts, name, s)
			field := name
			if file && strings.ContainsFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }) {
				field = "" // a control character in a part's header makes the body unreadable: 400
			}
			out = append(out, bodyVariant{name: name + " = " + truncate(s), field: field, raw: raw, ctype: ct})
		}
		if !file {
			raw, ct := multipartBody(b.parts, name, strings.Repeat("a", 100000))
			out = append(out, bodyVariant{name: name + " = long", raw: raw, ctype: ct})
		}
	}
	return append(out,
		bodyVariant{name: "as JSON", raw: []byte(`{}`), ctype: "application/json"},
		bodyVariant{name: "no content type", raw: b.raw},
		bodyVariant{name: "no boundary", raw: b.raw, ctype: "multipart/form-data"},
	)
}

// wholeBody are the variants of a JSON body as a whole.
func (b *bodyShape) wholeBody() []bodyVariant {
	dup := b.raw
	if m, ok := b.value.(map[string]any); ok && len(m) > 0 {
		// The first member again, same value: the only fault is the duplicated key.
		k := slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})[0]
		one, _ := json.Marshal(map[string]any{k: m[k]})
		dup = append(append(one[:len(one)-1:len(one)-1], ','), b.raw[1:]...)
	}
	badKeys := func(key string) []byte { return append([]byte(`{"`+key+`":1,`), b.raw[1:]...) }
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	deepObj := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	v := func(name string, raw []byte, ctype string) bodyVariant {
		return bodyVariant{name: name, raw: raw, ctype: ctype}
	}
	return []bodyVariant{
		v("[]", []byte(`[]`), b.ctype), v("bare string", []byte(`"hello"`), b.ctype), v("null", []byte(`null`), b.ctype),
		v("number", []byte(`12`), b.ctype), v("empty", []byte{}, b.ctype), v("truncated", b.raw[:len(b.raw)-1], b.ctype),
		v("duplicated key", dup, b.ctype), v("deep array", []byte(deep), b.ctype), v("deep object", []byte(deepObj), b.ctype),
		{name: "NUL key", raw: badKeys(`k\u0000`), ctype: b.ctype, field: "body"},
		{name: "invalid UTF-8 key", raw: badKeys("k\xff"), ctype: b.ctype, field: "body"},
		{name: "RTL key", raw: badKeys("k\u202e"), ctype: b.ctype, field: "body"},
		v("text/plain", b.raw, "text/plain"), v("no content type", b.raw, ""), v("form", b.raw, "application/x-www-form-urlencoded"),
	}
}

// walkMembers calls fn for every member of a schema (and of the objects and arrays within),
// with the value path; array members are reached through their first element.
func walkMembers(s *openapi3.Schema, value any, path []string, fn func([]string, *openapi3.Schema)) {
	if s == nil {
		return
	}
	if len(path) > 0 {
		fn(path, s)
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		m, _ := value.(map[string]any)
		for name, p := range s.Properties {
			child := m[name]
			if child == nil {
				child = sample(p.Value, nil)
			}
			walkMembers(p.Value, child, append(slices.Clone(path), name), fn)
		}
	case s.Type.Is("array") && s.Items != nil:
		a, _ := value.([]any)
		var first any
		if len(a) > 0 {
			first = a[0]
		} else {
			first = sample(s.Items.Value, nil)
		}
		walkMembers(s.Items.Value, first, append(slices.Clone(path), "0"), fn)
	}
}

// jsonLiteral is a raw JSON value; named marks those that must be a 422 naming the member (the
// character rule, integers past int64).
type jsonLiteral struct {
	raw   string
	named bool
}

// jsonValues are the hostile JSON values for a member of schema s.
func jsonValues(s *openapi3.Schema) []jsonLiteral {
	text := []string{`"a\u0000b"`, `"a\u0007b"`, `"\u001b[31m"`, `"a\u0085b"`, `"a` + "\u009b" + `b"`, `"caf` + "\xe9" + `"`, "\"\xff\xfe\"",
		`"\ud800"`, `"x\udc00y"`, `"\ud800\u0041"`, `"abc\u202edcba"`, "\"abc\u202edcba\"", `"\u2066x\u2069"`, `"x\u007f"`}
	if !multiline(s) {
		text = append(text, `"a\nb"`, `"a\tb"`, `"a\rb"`)
	}
	var out []jsonLiteral
	add := func(named bool, raws ...string) {
		for _, r := range raws {
			out = append(out, jsonLiteral{r, named})
		}
	}
	if !s.Nullable {
		add(false, `null`)
	}
	switch {
	case s.Type.Is("string"):
		add(s.Format != "binary", text...)
		add(false, `"`+strings.Repeat("a", 100000)+`"`, `12345`, `true`, `{}`, `[]`)
	case s.Type.Is("integer"), s.Type.Is("number"):
		add(s.Type.Is("integer"), `9223372036854775808`, `-9223372036854775809`, `99999999999999999999999`)
		add(false, `1e309`, `-1e309`, `"12"`, `true`, `{}`, `[]`, `"a\u0000"`)
		if s.Type.Is("integer") {
			add(false, `1.5`, `1e2`)
		}
	case s.Type.Is("boolean"):
		add(false, `"true"`, `1`, `{}`)
	case s.Type.Is("array"):
		add(false, `"x"`, `{}`, `1`, `[`+strings.Repeat(`"a",`, 20000)+`"a"]`)
	case s.Type.Is("object"):
		add(false, `"x"`, `[]`, `1`)
	}
	return out
}

// replaceAt marshals value with the member at path replaced by the raw JSON lit.
func replaceAt(value any, path []string, lit string) []byte {
	const marker = "\uE000hostile\uE000"
	b, _ := json.Marshal(value)
	var v any
	_ = json.Unmarshal(b, &v)
	v = setAt(v, path, marker)
	out, _ := json.Marshal(v)
	return bytes.Replace(out, []byte(`"`+marker+`"`), []byte(lit), 1)
}

func setAt(v any, path []string, x any) any {
	if len(path) == 0 {
		return x
	}
	switch t := v.(type) {
	case map[string]any:
		t[path[0]] = setAt(t[path[0]], path[1:], x)
		return t
	case []any:
		if len(t) == 0 {
			t = []any{nil}
		}
		t[0] = setAt(t[0], path[1:], x)
		return t
	case nil:
		if _, err := strconv.Atoi(path[0]); err == nil {
			return []any{setAt(nil, path[1:], x)}
		}
		return map[string]any{path[0]: setAt(nil, path[1:], x)}
	}
	return v
}

// TestTextRuleAcceptsRealText: the rule refuses controls and overrides, not languages: emoji
// (raw or as a surrogate pair escape), right-to-left scripts with their marks, and line breaks
// in a multi-line field are accepted and stored as sent; the same break in a single-line field
// is refused under its name.
func TestTextRuleAcceptsRealText(t *testing.T) {
	env := testkit.New(t)
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	h := newHostile(t, env, spec)
	h.newCaller()
	transfer := func(note string) *testkit.Resp {
		body := fmt.Sprintf(`{"from_wallet_id":%d,"to_username":%q,"amount":100,"currency":"EUR","note":%s}`, h.values["from_wallet_id"], h.values["to_username"], note)
		h.idem++
		return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Raw: []byte(body), Type: "application/json", Token: h.user.Token,
			Headers: map[string]string{"Idempotency-Key": fmt.Sprintf("real-%d", h.idem)}})
	}
	for raw, want := range map[string]string{
		`"Dîner 🍝"`:               "Dîner 🍝",
		`"\ud83c\udf5d pâtes"`:    "🍝 pâtes",
		`"مرحبا שלום \u200f!"`:    "مرحبا שלום \u200f!",
		`"ligne 1\nligne 2\ttab"`: "ligne 1\nligne 2\ttab",
		`"\ufffd"`:                "\ufffd",
	} {
		r := transfer(raw)
		if r.Status != 201 || ptr.Value(testkit.DataOf[api.Transaction](t, r).Note) != want {
			t.Errorf("note %s: %d %s", raw, r.Status, r.Body)
		}
	}
	body := fmt.Sprintf(`{"from_wallet_id":%d,"to_username":"a\nb","amount":100,"currency":"EUR"}`, h.values["from_wallet_id"])
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/transfers", Raw: []byte(body), Type: "application/json", Token: h.user.Token,
		Headers: map[string]string{"Idempotency-Key": "real-single-line"}})
	if r.Status != 422 || r.Errors()["to_username"] == nil {
		t.Errorf("line break in to_username: %d %s", r.Status, r.Body)
	}
}
