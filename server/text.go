package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/kit/apierr"
)

// The one character rule for every string a request carries (body values and keys, path, query
// and header parameters, multipart text parts): valid UTF-8, no unpaired surrogate escape, no C0
// or C1 control character (DEL included) and no bidirectional embedding, override or isolate
// (U+202A–U+202E, U+2066–U+2069). Tab, LF and CR are allowed only where the schema says
// `x-multiline: true`. A failure is 422 VALIDATION_FAILED with rule `characters` on the field;
// the value is never echoed. The same walk refuses what the schema validator cannot see in
// decoded values: duplicated keys, excessive nesting, integers past int64. Documented in
// openapi.yaml (info.description).

const (
	ruleCharacters = "characters"
	// maxJSONDepth bounds nesting well above any schema of the spec; deeper is MALFORMED_REQUEST.
	maxJSONDepth = 64
	// maxTextPart bounds how much of a multipart text part is checked (the parts the spec
	// declares are short; the route's body limit still applies to the whole request).
	maxTextPart = 1 << 20
)

// errDuplicateKey and errTooDeep make a JSON body MALFORMED_REQUEST: which of two values of one
// key counts is parser-dependent, so such a body is refused, never guessed.
var (
	errDuplicateKey = errors.New("duplicated object key")
	errTooDeep      = errors.New("nesting too deep")
)

// forbiddenRune reports whether r may not appear in a request string.
func forbiddenRune(r rune, multiline bool) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return !multiline
	case unicode.IsControl(r): // C0, DEL, C1
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// CleanText reports whether s passes the character rule.
func CleanText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if forbiddenRune(r, multiline) {
			return false
		}
	}
	return true
}

// loneSurrogate reports whether raw JSON text holds a \uD800–\uDFFF escape that is not half of
// a pair. encoding/json silently turns those into U+FFFD, so they are looked for before decoding.
func loneSurrogate(lit []byte) bool {
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' {
			continue
		}
		i++ // the escaped character; `\\` is consumed whole
		v, ok := hex4(lit, i)
		if !ok {
			continue
		}
		i += 4
		switch {
		case v >= 0xDC00 && v <= 0xDFFF:
			return true
		case v >= 0xD800 && v <= 0xDBFF:
			low, ok := hex4(lit, i+2)
			if i+1 >= len(lit) || lit[i+1] != '\\' || !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads the four hex digits of a `u` escape at lit[at] == 'u'.
func hex4(lit []byte, at int) (rune, bool) {
	if at < 0 || at+4 >= len(lit) || lit[at] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(lit[at+1:at+5]), 16, 32)
	return rune(v), err == nil
}

// textOp is what the guard needs of one operation.
type textOp struct {
	params openapi3.Parameters
	body   *openapi3.RequestBody
}

// textOps indexes operations by "METHOD /echo/path", with their path-level parameters.
func textOps(spec *openapi3.T) map[string]textOp {
	out := map[string]textOp{}
	for path, item := range spec.Paths.Map() {
		echoPath := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			t := textOp{params: append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)}
			if op.RequestBody != nil {
				t.body = op.RequestBody.Value
			}
			out[method+" "+echoPath] = t
		}
	}
	return out
}

// textGuard applies the character rule to the matched operation's request before the schema
// validator runs (which would otherwise see U+FFFD where the bytes were invalid).
func textGuard(spec *openapi3.T) echo.MiddlewareFunc {
	ops := textOps(spec)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op, ok := ops[c.Request().Method+" "+c.Path()]
			if !ok {
				return next(c)
			}
			if err := checkRequest(c, op); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// checkRequest checks the declared parameters, then the body; nil when all is clean.
func checkRequest(c echo.Context, op textOp) error {
	req := c.Request()
	out := &apierr.Fields{}
	query := req.URL.Query()
	for _, ref := range op.params {
		p := ref.Value
		var vals []string
		switch p.In {
		case openapi3.ParameterInPath:
			v := c.Param(p.Name)
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			vals = []string{v}
		case openapi3.ParameterInQuery:
			vals = query[p.Name]
		case openapi3.ParameterInHeader:
			vals = req.Header.Values(p.Name)
		}
		for _, v := range vals {
			if !CleanText(v, multiline(schemaOf(p.Schema))) {
				out.Add(p.Name, ruleCharacters)
				break
			}
		}
	}
	if op.body != nil && req.Body != nil {
		if err := checkBody(req, op.body, out); err != nil {
			return err
		}
	}
	return out.Err()
}

// checkBody buffers the body (the validator and the handler read it again) and checks a JSON
// or multipart one; other types are left to the validator.
func checkBody(req *http.Request, rb *openapi3.RequestBody, out *apierr.Fields) error {
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || (mt != "multipart/form-data" && mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil
	}
	raw, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.ErrTooLarge
		}
		return apierr.ErrMalformed.Wrap(err)
	}
	var schema *openapi3.Schema
	if m := rb.Content.Get(mt); m != nil {
		schema = schemaOf(m.Schema)
	}
	if mt == "multipart/form-data" {
		checkMultipart(raw, params["boundary"], schema, out)
		return nil
	}
	return CheckJSON(raw, schema, out)
}

// CheckJSON walks a JSON document, adding the `characters` rule under the path of every string
// (value or key) that breaks it. Duplicated keys and nesting past maxJSONDepth are
// MALFORMED_REQUEST; syntax errors are left to the validator (nil).
func CheckJSON(raw []byte, schema *openapi3.Schema, out *apierr.Fields) error {
	w := &jsonWalker{dec: json.NewDecoder(bytes.NewReader(raw)), raw: raw, out: out}
	w.dec.UseNumber()
	err := w.value(nil, schema, 0)
	if errors.Is(err, errDuplicateKey) || errors.Is(err, errTooDeep) {
		return apierr.ErrMalformed.Wrap(err)
	}
	return nil
}

type jsonWalker struct {
	dec *json.Decoder
	raw []byte
	out *apierr.Fields
}

// token reads one token and the raw bytes it came from (with any separator before it).
func (w *jsonWalker) token() (json.Token, []byte, error) {
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	return tok, w.raw[start:w.dec.InputOffset()], err
}

func (w *jsonWalker) value(path []string, schema *openapi3.Schema, depth int) error {
	if depth > maxJSONDepth {
		return errTooDeep
	}
	tok, lit, err := w.token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case string:
		w.check(path, t, lit, multiline(schema))
	case json.Number:
		w.checkInteger(path, t, schema)
	case json.Delim:
		if t == '{' {
			return w.object(path, schema, depth)
		}
		if t == '[' {
			return w.array(path, schema, depth)
		}
	}
	return nil
}

func (w *jsonWalker) object(path []string, schema *openapi3.Schema, depth int) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, lit, err := w.token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if !w.check(path, key, lit, false) {
			// The key itself is never echoed: its value is reported on the object.
			if err := w.value(path, nil, depth+1); err != nil {
				return err
			}
			continue
		}
		if seen[key] {
			return errDuplicateKey
		}
		seen[key] = true
		if err := w.value(append(path[:len(path):len(path)], key), property(schema, key), depth+1); err != nil {
			return err
		}
	}
	_, _, err := w.token()
	return err
}

func (w *jsonWalker) array(path []string, schema *openapi3.Schema, depth int) error {
	var items *openapi3.Schema
	if schema != nil && schema.Items != nil {
		items = schema.Items.Value
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(append(path[:len(path):len(path)], strconv.Itoa(i)), items, depth+1); err != nil {
			return err
		}
	}
	_, _, err := w.token()
	return err
}

// check applies the rule to a decoded string and its raw literal; false (and the field added)
// when it fails.
func (w *jsonWalker) check(path []string, s string, lit []byte, multi bool) bool {
	if utf8.Valid(lit) && !loneSurrogate(lit) && CleanText(s, multi) {
		return true
	}
	w.out.Add(fieldName(path), ruleCharacters)
	return false
}

// checkInteger refuses an integer literal past int64 for an integer member: the validator sees
// it as a float64, which cannot tell 2^63 from the largest int64, and the handler's decoding
// would fail without naming the field.
func (w *jsonWalker) checkInteger(path []string, n json.Number, schema *openapi3.Schema) {
	if schema == nil || !schema.Type.Is("integer") || strings.ContainsAny(string(n), ".eE") {
		return // fractions and exponents are the validator's (`type`)
	}
	if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return
	}
	if strings.HasPrefix(string(n), "-") {
		w.out.Add(fieldName(path), "minimum", strconv.FormatInt(math.MinInt64, 10))
	} else {
		w.out.Add(fieldName(path), "maximum", strconv.FormatInt(math.MaxInt64, 10))
	}
}

func fieldName(path []string) string {
	if len(path) == 0 {
		return "body"
	}
	return strings.Join(path, ".")
}

// checkMultipart checks every part name and every text part (a part without a file name),
// and the file names. A malformed body is left to the validator and the handler.
func checkMultipart(raw []byte, boundary string, schema *openapi3.Schema, out *apierr.Fields) {
	if boundary == "" {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	for {
		part, err := mr.NextPart()
		if err != nil {
			return
		}
		name := part.FormName()
		switch {
		case !CleanText(name, false):
			out.Add("body", ruleCharacters)
		case part.FileName() != "":
			if !CleanText(part.FileName(), false) {
				out.Add(name, ruleCharacters)
			}
		default:
			b, err := io.ReadAll(io.LimitReader(part, maxTextPart))
			if err != nil {
				return
			}
			if !CleanText(string(b), multiline(property(schema, name))) {
				out.Add(name, ruleCharacters)
			}
		}
	}
}

func schemaOf(ref *openapi3.SchemaRef) *openapi3.Schema {
	if ref == nil {
		return nil
	}
	return ref.Value
}

// property is the schema of an object's member key, looking through allOf/oneOf/anyOf and
// additionalProperties; nil when unknown (the strict single-line rule then applies).
func property(s *openapi3.Schema, key string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[key]; p != nil {
		return p.Value
	}
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, sub := range group {
			if p := property(schemaOf(sub), key); p != nil {
				return p
			}
		}
	}
	return schemaOf(s.AdditionalProperties.Schema)
}

// multiline reports whether a string schema allows tab, LF and CR (`x-multiline: true`).
func multiline(s *openapi3.Schema) bool {
	if s == nil {
		return false
	}
	v, _ := s.Extensions["x-multiline"].(bool)
	return v
}
