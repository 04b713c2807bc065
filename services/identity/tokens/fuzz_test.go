package tokens

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParse: parsing never panics, accepts only `<positive id>|<40 chars>`, and round-trips.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1|" + strings.Repeat("a", 40), "0|x", "|", "-5|" + strings.Repeat("b", 40), "99999999999999999999|" + strings.Repeat("c", 40), "12|abc|def"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, secret, ok := Parse(raw)
		if !ok {
			return
		}
		if id <= 0 || len(secret) != SecretLen {
			t.Fatalf("accepted %q as id=%d secret len %d", raw, id, len(secret))
		}
		if got := strconv.FormatInt(id, 10) + "|" + secret; got != raw && !strings.HasPrefix(raw, "+") && !strings.HasPrefix(raw, "0") {
			t.Fatalf("round trip %q -> %q", raw, got)
		}
	})
}
