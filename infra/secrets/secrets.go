// Package secrets holds the server keys: AES-256-GCM for data encrypted at rest (TOTP secrets,
// e-mail bodies, webhook secrets) and HMAC-SHA256 for one-time codes, recovery codes and signed
// URLs. Each is a ring of versioned keys (ring.go): the newest writes, all of them read, and
// every value carries the version it was made with. Keys never leave this package.
package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// Keys are the two server secrets, each a ring of versioned 32-byte keys (Ring): the newest
// key of each writes, every key of the ring reads.
type Keys struct {
	enc Ring
	mac Ring
}

// ParseKey accepts 32 bytes encoded as hex (64 chars) or standard/URL base64.
func ParseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("secrets: key must be 32 bytes, hex or base64")
}

// New builds the keys from raw 32-byte secrets, each a one-key ring at version v1.
func New(encKey, hmacKey []byte) (*Keys, error) {
	enc, err := oneKeyRing(1, encKey)
	if err != nil {
		return nil, err
	}
	mac, err := oneKeyRing(1, hmacKey)
	if err != nil {
		return nil, err
	}
	return &Keys{enc: enc, mac: mac}, nil
}

// NewRings builds the keys from the encryption ring and the HMAC ring (ParseRing).
func NewRings(enc, mac Ring) (*Keys, error) {
	if len(enc.keys) == 0 || len(mac.keys) == 0 {
		return nil, errors.New("secrets: empty key ring")
	}
	return &Keys{enc: enc, mac: mac}, nil
}

// EncryptionRing and HMACRing describe the rings (versions only, never a key).
func (k *Keys) EncryptionRing() Ring { return k.enc }

// HMACRing is the HMAC ring (see EncryptionRing).
func (k *Keys) HMACRing() Ring { return k.mac }

// ErrKeyRemoved means a value was sealed or MACed under a version the ring no longer holds.
var ErrKeyRemoved = errors.New("secrets: the key version of this value is no longer in the ring")

// Encrypt seals plaintext under the newest key with a random nonce; aad binds it to its context
// (e.g. "totp:<user>"). The result is the version header, the nonce and the sealed bytes; the
// header is authenticated too.
func (k *Keys) Encrypt(plaintext, aad []byte) ([]byte, error) {
	key := k.enc.keys[0]
	nonce := make([]byte, key.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	h := header(key.version)
	out := append(h, nonce...)
	return key.aead.Seal(out, nonce, plaintext, append(h, aad...)), nil
}

// Decrypt opens a value sealed by Encrypt with the same aad, under the key its header names;
// a value without header (sealed before key rings) is tried under every key of the ring.
// ErrKeyRemoved when its version has left the ring.
func (k *Keys) Decrypt(sealed, aad []byte) ([]byte, error) {
	if v, ok := versionOf(sealed); ok {
		key, known := k.enc.byVersion(v)
		if known {
			if out, err := open(key, sealed[headerLen:], append(header(v), aad...)); err == nil {
				return out, nil
			}
		}
		// A value without header whose random nonce happens to start like one: try it as such.
		if out, ok := k.openLegacy(sealed, aad); ok {
			return out, nil
		}
		if !known {
			return nil, ErrKeyRemoved
		}
		return nil, errors.New("secrets: decrypt: message authentication failed")
	}
	if out, ok := k.openLegacy(sealed, aad); ok {
		return out, nil
	}
	return nil, errors.New("secrets: decrypt: no key of the ring opens this value")
}

// openLegacy opens a value sealed before key rings (nonce and sealed bytes) with any ring key.
func (k *Keys) openLegacy(sealed, aad []byte) ([]byte, bool) {
	for _, key := range k.enc.keys {
		if out, err := open(key, sealed, aad); err == nil {
			return out, true
		}
	}
	return nil, false
}

func open(key ringKey, sealed, aad []byte) ([]byte, error) {
	n := key.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secrets: ciphertext too short")
	}
	out, err := key.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("secrets: decrypt: %w", err)
	}
	return out, nil
}

// Current reports whether sealed is written under the newest encryption key.
func (k *Keys) Current(sealed []byte) bool {
	v, ok := versionOf(sealed)
	return ok && v == k.enc.keys[0].version
}

// Reseal opens sealed and seals it again under the newest key (flowxi keys reencrypt).
func (k *Keys) Reseal(sealed, aad []byte) ([]byte, error) {
	plain, err := k.Decrypt(sealed, aad)
	if err != nil {
		return nil, err
	}
	return k.Encrypt(plain, aad)
}

// SealHeader is the header of values sealed under the newest key, for queries that find the
// rows still to rewrite.
func (k *Keys) SealHeader() []byte { return header(k.enc.keys[0].version) }

// MACHeader is the header of MACs made with the newest HMAC key.
func (k *Keys) MACHeader() []byte { return header(k.mac.keys[0].version) }

// MAC returns the newest key's HMAC-SHA256(key, purpose || 0 || value) behind its version
// header: purposes keep codes of different flows apart.
func (k *Keys) MAC(purpose, value string) []byte {
	key := k.mac.keys[0]
	return append(header(key.version), rawMAC(key, purpose, value)...)
}

// MACs lists every form a stored MAC of value may have while the ring holds its key: under
// each version (with its header), and without header (MACs made before key rings), for a
// lookup that matches any of them in one query (`code_hash = ANY($2)`).
func (k *Keys) MACs(purpose, value string) [][]byte {
	out := make([][]byte, 0, 2*len(k.mac.keys))
	for _, key := range k.mac.keys {
		m := rawMAC(key, purpose, value)
		out = append(out, append(header(key.version), m...), m)
	}
	return out
}

// VerifyMAC reports whether stored is a MAC of value for purpose under a key of the ring (the
// version its header names, or any key for a MAC without header), in constant time per key.
func (k *Keys) VerifyMAC(purpose, value string, stored []byte) bool {
	if v, ok := versionOf(stored); ok && len(stored) == headerLen+sha256.Size {
		key, known := k.mac.byVersion(v)
		return known && hmac.Equal(stored[headerLen:], rawMAC(key, purpose, value))
	}
	if len(stored) != sha256.Size {
		return false
	}
	ok := false
	for _, key := range k.mac.keys {
		ok = hmac.Equal(stored, rawMAC(key, purpose, value)) || ok
	}
	return ok
}

func rawMAC(key ringKey, purpose, value string) []byte {
	m := hmac.New(sha256.New, key.raw)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// Equal compares two MACs in constant time.
func Equal(a, b []byte) bool { return hmac.Equal(a, b) }

// SHA256Hex is the hex SHA-256 of s (magic links, tokens).
func SHA256Hex(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n characters drawn uniformly from alphabet with crypto/rand.
func RandomString(n int, alphabet string) (string, error) {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		out[i] = alphabet[v.Int64()]
	}
	return string(out), nil
}

// RandomAlnum returns n random letters and digits.
func RandomAlnum(n int) (string, error) { return RandomString(n, alnum) }

// RandomDigits returns an n-digit numeric code.
func RandomDigits(n int) (string, error) { return RandomString(n, "0123456789") }
