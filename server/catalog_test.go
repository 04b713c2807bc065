package server_test

import (
	"strings"
	"testing"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
)

// Every code of the spec has a message in every language, and no language has a code the
// spec lacks.
func TestEveryCodeHasMessages(t *testing.T) {
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, v := range spec.Components.Schemas["Code"].Value.Enum {
		codes[v.(string)] = true
	}
	if len(codes) < 20 {
		t.Fatalf("only %d codes in the spec", len(codes))
	}
	for _, lang := range i18n.Supported {
		for c := range codes {
			if !i18n.Has(lang, c) {
				t.Errorf("%s: no message for %s", lang, c)
			}
		}
		for _, k := range i18n.Keys(lang) {
			if strings.HasPrefix(k, "validation.") || strings.HasPrefix(k, "event.") {
				continue
			}
			base, _, _ := strings.Cut(k, ".")
			if !codes[base] {
				t.Errorf("%s: %s is not a code of the spec", lang, k)
			}
		}
	}
	// Both languages have the same keys.
	fr, en := i18n.Keys("fr"), i18n.Keys("en")
	if strings.Join(fr, ",") != strings.Join(en, ",") {
		t.Errorf("fr and en catalogues differ")
	}
}
