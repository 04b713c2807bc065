package i18n

import (
	"testing"
)

// FuzzResolve: any header pair resolves to a supported language without panicking, and a
// supported X-App-Locale always wins.
func FuzzResolve(f *testing.F) {
	for _, s := range [][2]string{{"en", ""}, {"", "en-US,en;q=0.9"}, {"", "es,pt;q=0.9"}, {"EN_us", "fr"}, {"zz-Latn-x-private", "*;q=0"}, {"", ",,;;q=,en"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, x, accept string) {
		lang, _ := Resolve(x, accept)
		if lang != "fr" && lang != "en" {
			t.Fatalf("Resolve(%q, %q) = %q", x, accept, lang)
		}
		if m := match(x); m != "" && lang != m {
			t.Fatalf("X-App-Locale %q resolved to %q, lost to Accept-Language %q", x, lang, accept)
		}
	})
}
