// Package secrets holds the server keys: AES-256-GCM for data encrypted at rest (TOTP secrets,
// e-mail bodies) and HMAC-SHA256 for one-time codes. Keys never leave this package.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// Keys are the two server secrets (32 bytes each).
type Keys struct {
	aead cipher.AEAD
	hmac []byte
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

// New builds the keys from raw 32-byte secrets.
func New(encKey, hmacKey []byte) (*Keys, error) {
	if len(encKey) != 32 || len(hmacKey) != 32 {
		return nil, errors.New("secrets: keys must be 32 bytes")
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, hmac: append([]byte(nil), hmacKey...)}, nil
}

// Encrypt seals plaintext with a random nonce; aad binds it to its context (e.g. "totp:<user>").
func (k *Keys) Encrypt(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Decrypt opens a value sealed by Encrypt with the same aad.
func (k *Keys) Decrypt(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secrets: ciphertext too short")
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("secrets: decrypt: %w", err)
	}
	return out, nil
}

// MAC returns HMAC-SHA256(key, purpose || 0 || value): purposes keep codes of different flows apart.
func (k *Keys) MAC(purpose, value string) []byte {
	m := hmac.New(sha256.New, k.hmac)
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
