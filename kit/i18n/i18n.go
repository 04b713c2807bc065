// Package i18n resolves the request locale (X-App-Locale → Accept-Language → user.locale → fr)
// and renders messages from the embedded catalogues. Codes are never translated.
package i18n

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/language"

	"github.com/flowxi/backend/locales"
)

// Supported languages; the first is the default and the fallback.
var Supported = []string{"fr", "en"}

// Default is the fallback locale.
const Default = "fr"

var catalogs = mustLoad()

func mustLoad() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range Supported {
		name := lang + ".json"
		b, err := locales.FS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		if k := duplicateKey(b); k != "" {
			panic(fmt.Sprintf("locales: key %q defined twice in %s", k, name))
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("locales: %s: %v", name, err))
		}
		out[lang] = m
	}
	return out
}

// duplicateKey returns a key that a flat JSON object defines twice (encoding/json would keep the
// last one silently), or "".
func duplicateKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := t.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		if _, err := dec.Token(); err != nil { // the value: a string
			return ""
		}
	}
	return ""
}

// Keys returns every message key of a language (for completeness tests).
func Keys(lang string) []string {
	out := make([]string, 0, len(catalogs[lang]))
	for k := range catalogs[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Has reports whether lang has a message for key.
func Has(lang, key string) bool { _, ok := catalogs[lang][key]; return ok }

// State is the resolved locale of one request. It is shared by pointer so authentication can
// apply user.locale when no header chose a language.
type State struct {
	Lang     string
	Explicit bool
}

type ctxKey struct{}

// With stores the state in ctx.
func With(ctx context.Context, s *State) context.Context { return context.WithValue(ctx, ctxKey{}, s) }

// Lang returns the request language (fr outside a request).
func Lang(ctx context.Context) string {
	if s, ok := ctx.Value(ctxKey{}).(*State); ok && s.Lang != "" {
		return s.Lang
	}
	return Default
}

// ApplyUserLocale uses the authenticated user's locale unless a header decided.
func ApplyUserLocale(ctx context.Context, userLocale string) {
	if s, ok := ctx.Value(ctxKey{}).(*State); ok && !s.Explicit {
		if l := match(userLocale); l != "" {
			s.Lang = l
		}
	}
}

// Resolve applies the documented order to the two headers. explicit is false when neither
// header named a supported language (user.locale may then apply).
func Resolve(xAppLocale, acceptLanguage string) (lang string, explicit bool) {
	if l := match(xAppLocale); l != "" {
		return l, true
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		if i := strings.IndexByte(part, ';'); i >= 0 {
			part = part[:i] // q-values are ignored: order decides
		}
		if l := match(part); l != "" {
			return l, true
		}
	}
	return Default, false
}

// match returns the supported base language of one tag, or "".
func match(tag string) string {
	tag = strings.TrimSpace(strings.ReplaceAll(tag, "_", "-"))
	if tag == "" || len(tag) > 64 {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	base, conf := t.Base()
	if conf == language.No {
		return ""
	}
	for _, s := range Supported {
		if base.String() == s {
			return s
		}
	}
	return ""
}

// Text returns the message for key in lang, falling back to fr, then to the key itself.
func Text(lang, key string) string {
	if m, ok := catalogs[lang][key]; ok {
		return m
	}
	if m, ok := catalogs[Default][key]; ok {
		return m
	}
	return key
}

// Msg returns the localized message for a code in the request's language.
func Msg(ctx context.Context, code string) string { return Text(Lang(ctx), code) }

// Validation renders a rule message ("validation.<rule>") with the field name (never
// translated) and the rule parameter.
func Validation(lang, rule, field, param string) string {
	key := "validation." + rule
	if _, ok := catalogs[lang][key]; !ok {
		key = "validation.invalid"
	}
	return strings.NewReplacer(":attribute", field, ":param", param).Replace(Text(lang, key))
}

// ForUser is the language for something addressed to a user outside an authenticated request
// (an e-mail at login): the request's language when a header chose it, else the user's.
func ForUser(ctx context.Context, userLocale string) string {
	if s, ok := ctx.Value(ctxKey{}).(*State); ok && s.Explicit {
		return s.Lang
	}
	if l := match(userLocale); l != "" {
		return l
	}
	return Lang(ctx)
}
