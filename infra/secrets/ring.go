package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A Ring is one secret's keys, newest first: the newest seals and MACs everything new, every
// key in the ring still opens and verifies what it made. It is written "v2:<key>,v1:<key>"
// (FLOWXI_ENCRYPTION_KEYS, FLOWXI_HMAC_KEYS): versions v1…v65535 in strictly decreasing order,
// each key 32 bytes in hex or base64 (ParseKey).
type Ring struct {
	keys []ringKey
}

// ringKey is one version of a ring.
type ringKey struct {
	version uint16
	raw     []byte
	aead    cipher.AEAD
}

// maxVersion is the highest version a header can carry.
const maxVersion = 1<<16 - 1

// ParseRing reads a ring as written in the configuration. Its errors name the entry (its
// version or position) and never contain key material.
func ParseRing(spec string) (Ring, error) {
	var r Ring
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return r, errors.New("no key: want v1:<32 bytes, hex or base64> (newest first: v2:…,v1:…)")
	}
	seen := map[uint16]bool{}
	for i, entry := range strings.Split(spec, ",") {
		k, err := parseEntry(i+1, strings.TrimSpace(entry))
		if err != nil {
			return Ring{}, err
		}
		if seen[k.version] {
			return Ring{}, fmt.Errorf("version v%d appears twice", k.version)
		}
		seen[k.version] = true
		if n := len(r.keys); n > 0 && r.keys[n-1].version < k.version {
			return Ring{}, fmt.Errorf("versions must be listed newest first: v%d comes before v%d", k.version, r.keys[n-1].version)
		}
		for _, o := range r.keys {
			if bytes.Equal(o.raw, k.raw) {
				return Ring{}, fmt.Errorf("v%d and v%d are the same key", o.version, k.version)
			}
		}
		r.keys = append(r.keys, k)
	}
	return r, nil
}

// parseEntry reads the n-th "vN:key" entry of a ring.
func parseEntry(n int, entry string) (ringKey, error) {
	name, key, ok := strings.Cut(entry, ":")
	if !ok || name == "" || key == "" {
		return ringKey{}, fmt.Errorf("entry %d: want version:key, e.g. v2:<64 hex characters>", n)
	}
	v, err := parseVersion(name)
	if err != nil {
		return ringKey{}, fmt.Errorf("entry %d: %w", n, err)
	}
	raw, err := ParseKey(strings.TrimSpace(key))
	if err != nil {
		return ringKey{}, fmt.Errorf("v%d: key must be 32 bytes, hex (64 characters) or base64", v)
	}
	return newRingKey(v, raw)
}

// parseVersion reads "v1" … "v65535" (no leading zero, no sign).
func parseVersion(s string) (uint16, error) {
	bad := fmt.Errorf("bad version %q: want v1, v2, … (up to v%d)", s, maxVersion)
	digits, ok := strings.CutPrefix(s, "v")
	if !ok || digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseUint(digits, 10, 16)
	if err != nil {
		return 0, bad
	}
	return uint16(n), nil
}

func newRingKey(v uint16, raw []byte) (ringKey, error) {
	if len(raw) != 32 {
		return ringKey{}, errors.New("secrets: keys must be 32 bytes")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return ringKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return ringKey{}, err
	}
	return ringKey{version: v, raw: append([]byte(nil), raw...), aead: aead}, nil
}

// oneKeyRing is the ring of a single key at version v.
func oneKeyRing(v uint16, raw []byte) (Ring, error) {
	k, err := newRingKey(v, raw)
	return Ring{keys: []ringKey{k}}, err
}

// Versions lists the ring's versions, newest first ("v2", "v1").
func (r Ring) Versions() []string {
	out := make([]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = "v" + strconv.Itoa(int(k.version))
	}
	return out
}

// Newest is the version everything new is written with ("" for an empty ring).
func (r Ring) Newest() string {
	if len(r.keys) == 0 {
		return ""
	}
	return r.Versions()[0]
}

// WeakVersions lists the versions whose key does not look random (fewer than 12 distinct
// bytes: "1111…", a placeholder), which production refuses.
func (r Ring) WeakVersions() []string {
	var out []string
	for _, k := range r.keys {
		if Weak(k.raw) {
			out = append(out, "v"+strconv.Itoa(int(k.version)))
		}
	}
	return out
}

// Weak reports a key with fewer than 12 distinct bytes.
func Weak(raw []byte) bool {
	distinct := map[byte]bool{}
	for _, x := range raw {
		distinct[x] = true
	}
	return len(distinct) < 12
}

// Shares reports whether two rings hold a common key (the encryption and HMAC keys must differ).
func (r Ring) Shares(o Ring) bool {
	for _, a := range r.keys {
		for _, b := range o.keys {
			if bytes.Equal(a.raw, b.raw) {
				return true
			}
		}
	}
	return false
}

// byVersion returns the key of version v.
func (r Ring) byVersion(v uint16) (ringKey, bool) {
	for _, k := range r.keys {
		if k.version == v {
			return k, true
		}
	}
	return ringKey{}, false
}

// The version header every value sealed or MACed by this package starts with: a zero byte,
// "fk", then the key's version as two big-endian bytes. Values written before key rings
// (FLOWXI_ENCRYPTION_KEY alone) have no header; they are read with every key of the ring.
const headerLen = 5

var magic = []byte{0x00, 'f', 'k'}

func header(v uint16) []byte { return []byte{magic[0], magic[1], magic[2], byte(v >> 8), byte(v)} }

// versionOf reads the header of b; false when b has none (a value written before key rings).
func versionOf(b []byte) (uint16, bool) {
	if len(b) < headerLen || !bytes.Equal(b[:3], magic) {
		return 0, false
	}
	return uint16(b[3])<<8 | uint16(b[4]), true
}
