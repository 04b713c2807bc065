package i18n

import "testing"

// Every key has a French and an English text, and they differ wherever a translation is expected
// (a copy-pasted English line in fr.json would pass the spec-wide completeness test). Only the
// plain "OK" of the read endpoints is the same in both.
func TestMessagesInBothLanguages(t *testing.T) {
	en := Keys("en")
	if len(en) < 150 {
		t.Fatalf("only %d keys", len(en))
	}
	if fr := Keys("fr"); len(fr) != len(en) {
		t.Errorf("fr has %d keys, en %d", len(fr), len(en))
	}
	for _, k := range en {
		fr, eng := Text("fr", k), Text("en", k)
		if fr == "" || eng == "" {
			t.Errorf("%s: missing text", k)
		}
		if fr == eng && fr != "OK" {
			t.Errorf("%s: French and English are the same (%q)", k, fr)
		}
	}
}

// A catalogue that defines a key twice is refused (encoding/json alone keeps the last one).
func TestDuplicateKeyIsFound(t *testing.T) {
	if k := duplicateKey([]byte(`{"A": "x", "B": "y", "A": "z"}`)); k != "A" {
		t.Fatalf("duplicate not found: %q", k)
	}
	if k := duplicateKey([]byte(`{"A": "x", "B": "y"}`)); k != "" {
		t.Fatalf("false duplicate %q", k)
	}
}
