package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func hexKey(b byte) string { return strings.Repeat(hex.EncodeToString([]byte{b}), 32) }

// A ring that cannot be read is refused with an error naming the entry and the rule, never
// the key material.
func TestParseRingErrors(t *testing.T) {
	k1, k2 := hexKey(0x11), hexKey(0x22)
	for _, tc := range []struct{ name, spec, want string }{
		{"empty", "  ", "no key"},
		{"no version", k1, "entry 1: want version:key"},
		{"empty entry", "v2:" + k2 + ",,v1:" + k1, "entry 2: want version:key"},
		{"bad version letter", "x1:" + k1, `bad version "x1"`},
		{"bad version zero", "v0:" + k1, `bad version "v0"`},
		{"bad version leading zero", "v01:" + k1, `bad version "v01"`},
		{"bad version too big", "v65536:" + k1, `bad version "v65536"`},
		{"bad version sign", "v-1:" + k1, `bad version "v-1"`},
		{"duplicate version", "v2:" + k2 + ",v2:" + k1, "version v2 appears twice"},
		{"oldest first", "v1:" + k1 + ",v2:" + k2, "newest first: v2 comes before v1"},
		{"short key", "v1:" + k1[:62], "v1: key must be 32 bytes"},
		{"long key", "v1:" + k1 + "00", "v1: key must be 32 bytes"},
		{"not a key", "v3:changeme", "v3: key must be 32 bytes"},
		{"same key twice", "v2:" + k1 + ",v1:" + k1, "v2 and v1 are the same key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRing(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseRing: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), k1[:16]) || strings.Contains(err.Error(), k2[:16]) {
				t.Fatalf("the error shows key material: %v", err)
			}
		})
	}
	r, err := ParseRing(" v10:" + k2 + " , v2:" + k1)
	if err != nil || strings.Join(r.Versions(), ",") != "v10,v2" || r.Newest() != "v10" {
		t.Fatalf("good ring: %v %v", r.Versions(), err)
	}
}

func keysOf(t *testing.T, enc, mac string) *Keys {
	t.Helper()
	e, err := ParseRing(enc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseRing(mac)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewRings(e, m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// legacySeal is how values were sealed before key rings (nonce || AES-256-GCM), written here
// with the standard library alone.
func legacySeal(t *testing.T, key string, plain, aad []byte) []byte {
	raw, _ := hex.DecodeString(key)
	block, _ := aes.NewCipher(raw)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	return gcm.Seal(nonce, nonce, plain, aad)
}

func legacyMAC(key, purpose, value string) []byte {
	raw, _ := hex.DecodeString(key)
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(purpose + "\x00" + value))
	return m.Sum(nil)
}

// New values carry the newest version; every key of the ring reads its own and values written
// before rings; a value whose key left the ring is ErrKeyRemoved.
func TestRingSealsWithNewestAndOpensWithAny(t *testing.T) {
	k1, k2, k3 := hexKey(0x11), hexKey(0x22), hexKey(0x33)
	old := keysOf(t, "v1:"+k1, "v1:"+k3)
	both := keysOf(t, "v2:"+k2+",v1:"+k1, "v1:"+k3)
	onlyNew := keysOf(t, "v2:"+k2, "v1:"+k3)
	aad := []byte("totp:7")

	underV1, err := old.Encrypt([]byte("secret-1"), aad)
	if err != nil || !bytes.HasPrefix(underV1, []byte{0, 'f', 'k', 0, 1}) {
		t.Fatalf("v1 header: %x %v", underV1, err)
	}
	underV2, _ := both.Encrypt([]byte("secret-2"), aad)
	if !bytes.HasPrefix(underV2, both.SealHeader()) || !both.Current(underV2) || both.Current(underV1) {
		t.Fatalf("v2 header: %x", underV2)
	}
	legacy := legacySeal(t, k1, []byte("secret-0"), aad)
	for _, c := range []struct {
		sealed []byte
		want   string
	}{{underV1, "secret-1"}, {underV2, "secret-2"}, {legacy, "secret-0"}} {
		if got, err := both.Decrypt(c.sealed, aad); err != nil || string(got) != c.want {
			t.Fatalf("ring v2,v1 opens %q: %q %v", c.want, got, err)
		}
		if _, err := both.Decrypt(c.sealed, []byte("totp:8")); err == nil {
			t.Fatal("opened with another AAD")
		}
	}
	if _, err := onlyNew.Decrypt(underV1, aad); !errors.Is(err, ErrKeyRemoved) {
		t.Fatalf("v1 value without v1: %v", err)
	}
	if _, err := onlyNew.Decrypt(legacy, aad); err == nil {
		t.Fatal("legacy value opened without its key")
	}
	if _, err := old.Decrypt(underV2, aad); !errors.Is(err, ErrKeyRemoved) {
		t.Fatalf("v2 value under the old ring: %v", err)
	}
	// Reseal brings both old forms to v2, which the ring without v1 reads.
	for _, s := range [][]byte{underV1, legacy} {
		n, err := both.Reseal(s, aad)
		if err != nil || !both.Current(n) {
			t.Fatalf("reseal: %x %v", n, err)
		}
		if _, err := onlyNew.Decrypt(n, aad); err != nil {
			t.Fatalf("resealed value: %v", err)
		}
	}
	// A tampered version byte is not accepted under another key.
	bad := append([]byte(nil), underV2...)
	bad[4] = 1
	if _, err := both.Decrypt(bad, aad); err == nil {
		t.Fatal("tampered header accepted")
	}
}

// MACs: the newest key writes (with its header), every ring key verifies, legacy MACs (no
// header) verify under any key, and MACs lists every form for a one-query lookup.
func TestRingMACs(t *testing.T) {
	k1, k2, e := hexKey(0x44), hexKey(0x55), hexKey(0x66)
	v1 := keysOf(t, "v1:"+e, "v1:"+k1)
	both := keysOf(t, "v1:"+e, "v2:"+k2+",v1:"+k1)
	onlyNew := keysOf(t, "v1:"+e, "v2:"+k2)
	m1, m2, legacy := v1.MAC("p", "x"), both.MAC("p", "x"), legacyMAC(k1, "p", "x")
	if !bytes.HasPrefix(m2, both.MACHeader()) || len(m2) != headerLen+32 || bytes.Equal(m1[headerLen:], m2[headerLen:]) {
		t.Fatalf("MACs: %x %x", m1, m2)
	}
	for _, m := range [][]byte{m1, m2, legacy} {
		if !both.VerifyMAC("p", "x", m) || both.VerifyMAC("p", "y", m) || both.VerifyMAC("q", "x", m) {
			t.Fatalf("verify %x under v2,v1", m)
		}
		found := false
		for _, c := range both.MACs("p", "x") {
			found = found || bytes.Equal(c, m)
		}
		if !found {
			t.Fatalf("MACs misses %x", m)
		}
	}
	if onlyNew.VerifyMAC("p", "x", m1) || onlyNew.VerifyMAC("p", "x", legacy) || !onlyNew.VerifyMAC("p", "x", m2) {
		t.Fatal("ring without v1 must refuse v1 MACs and accept v2")
	}
	if both.VerifyMAC("p", "x", m2[:20]) || both.VerifyMAC("p", "x", nil) {
		t.Fatal("truncated MAC accepted")
	}
}
