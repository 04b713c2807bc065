package compliance_test

import (
	"encoding/json"
	"testing"

	"github.com/flowxi/backend/locales"
	"github.com/flowxi/backend/services/i18n"
)

// Every key of the compliance catalogue has a French and an English text, and they differ
// wherever a translation is expected (a copy-pasted English line in fr.json would pass the
// spec-wide completeness test).
func TestComplianceMessagesInBothLanguages(t *testing.T) {
	raw, err := locales.FS.ReadFile("en/compliance.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]string
	if err := json.Unmarshal(raw, &en); err != nil {
		t.Fatal(err)
	}
	if len(en) < 28 {
		t.Fatalf("only %d keys", len(en))
	}
	for k := range en {
		fr, eng := i18n.Text("fr", k), i18n.Text("en", k)
		if fr == "" || eng == "" {
			t.Errorf("%s: missing text", k)
		}
		if fr == eng && fr != "OK" {
			t.Errorf("%s: French and English are the same (%q)", k, fr)
		}
	}
}
