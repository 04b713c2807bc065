package ledger

import (
	"bytes"
	"testing"
)

// FuzzRequestHash: the idempotency fingerprint is deterministic and unambiguous — moving bytes
// between fields (e.g. amount "10" + note "0x" vs "100" + "x") never yields the same fingerprint,
// so a reused key with another body is always caught.
func FuzzRequestHash(f *testing.F) {
	f.Add("transfer", "10", "0x", uint8(3))
	f.Add("deposit", "", "EUR", uint8(0))
	f.Add("hold", "wallet:7", "\x1f1\x1e", uint8(5))
	f.Fuzz(func(t *testing.T, op, a, b string, split uint8) {
		x := requestHash(op, a, b)
		if !bytes.Equal(x, requestHash(op, a, b)) {
			t.Fatal("not deterministic")
		}
		s := a + b
		k := int(split) % (len(s) + 1)
		if s[:k] != a && bytes.Equal(x, requestHash(op, s[:k], s[k:])) {
			t.Fatalf("(%q,%q) and (%q,%q) share a fingerprint", a, b, s[:k], s[k:])
		}
		if bytes.Equal(x, requestHash(op, s)) || bytes.Equal(x, requestHash(op+a, b)) {
			t.Fatalf("field boundaries are ambiguous for %q %q %q", op, a, b)
		}
	})
}
