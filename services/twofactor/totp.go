package twofactor

import (
	"crypto/rand"
	"encoding/base32"
	"net/url"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// TOTP parameters (RFC 6238 defaults, which authenticator apps assume for a URI that names
// none of them).
const (
	Issuer      = "Flowxi"
	period      = 30
	skew        = 1  // steps accepted on each side of the current one
	secretBytes = 20 // 160 bits, the RFC 4226 recommendation
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newSecret returns a random base32 secret (32 characters for 20 bytes).
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return b32.EncodeToString(b), nil
}

// otpauthURI is the documented enrollment URI
// otpauth://totp/Flowxi:<email>?secret=<BASE32>&issuer=Flowxi.
func otpauthURI(email, secret string) string {
	return "otpauth://totp/" + Issuer + ":" + url.PathEscape(email) + "?secret=" + secret + "&issuer=" + Issuer
}

// step is the TOTP time step of t.
func step(t time.Time) int64 { return t.Unix() / period }

// isTOTP tells a 6-digit TOTP code from a recovery code.
func isTOTP(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// matchTOTP returns the time step (current ±skew) whose code is code, newest first so that a
// code valid for two steps claims the later one. It writes nothing: replay is decided when the
// step is claimed.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if !isTOTP(code) {
		return 0, false
	}
	cur := step(now)
	opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	found, at := false, int64(0)
	// Every candidate is computed (no early exit), so timing does not tell which step matched.
	for s := cur + skew; s >= cur-skew; s-- {
		ok, err := hotp.ValidateCustom(code, uint64(s), secret, opts)
		if err == nil && ok && !found {
			found, at = true, s
		}
	}
	return at, found
}
