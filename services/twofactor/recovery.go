package twofactor

import (
	"strconv"
	"strings"

	"github.com/flowxi/backend/infra/secrets"
)

// Recovery codes: RecoveryCodeCount codes of 24 characters from a 32-symbol alphabet without
// look-alikes (no l, o, 0, 1): 120 bits each, shown as four groups of six.
const (
	RecoveryCodeCount = 10
	recoveryLen       = 24
	recoveryAlphabet  = "abcdefghijkmnpqrstuvwxyz23456789"
)

// newRecoveryCodes draws the codes with crypto/rand, in display form.
func newRecoveryCodes() ([]string, error) {
	out := make([]string, 0, RecoveryCodeCount)
	seen := map[string]bool{}
	for len(out) < RecoveryCodeCount {
		raw, err := secrets.RandomString(recoveryLen, recoveryAlphabet)
		if err != nil {
			return nil, err
		}
		if seen[raw] {
			continue
		}
		seen[raw] = true
		out = append(out, raw[0:6]+"-"+raw[6:12]+"-"+raw[12:18]+"-"+raw[18:24])
	}
	return out, nil
}

// canonicalRecovery accepts a code as typed (any case, with or without separators) and
// returns its canonical form, or false when it cannot be a recovery code.
func canonicalRecovery(code string) (string, bool) {
	c := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
	if len(c) != recoveryLen {
		return "", false
	}
	for _, r := range c {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
	}
	return c, true
}

// recoveryHash is what the database keeps: HMAC-SHA256 under the newest HMAC key, bound to
// the user so a hash is useless for any other account.
func (s *TwoFactor) recoveryHash(userID int64, canonical string) []byte {
	return s.keys.MAC(recoveryMACInput(userID, canonical))
}

// recoveryHashes are the forms a stored hash of the code may have under the keys of the HMAC
// ring (FindRecoveryCode matches any of them in one query): codes made before a rotation keep
// working while their key is in the ring.
func (s *TwoFactor) recoveryHashes(userID int64, canonical string) [][]byte {
	return s.keys.MACs(recoveryMACInput(userID, canonical))
}

func recoveryMACInput(userID int64, canonical string) (string, string) {
	return "twofa-recovery", strconv.FormatInt(userID, 10) + ":" + canonical
}
