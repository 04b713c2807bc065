package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flowxi/backend/infra/secrets"
)

// EncryptionRing is the encryption key ring as written (secrets.ParseRing reads it):
// FLOWXI_ENCRYPTION_KEYS, or FLOWXI_ENCRYPTION_KEY as the one-key ring v1 ("" when neither is
// set).
func (c Config) EncryptionRing() string { return ringSpec(c.EncryptionKeys, c.EncryptionKey) }

// HMACRing is the HMAC key ring as written: FLOWXI_HMAC_KEYS, or FLOWXI_HMAC_KEY as v1.
func (c Config) HMACRing() string { return ringSpec(c.HMACKeys, c.HMACKey) }

func ringSpec(ring, single string) string {
	if strings.TrimSpace(ring) != "" {
		return ring
	}
	if single = strings.TrimSpace(single); single != "" {
		return "v1:" + single
	}
	return ""
}

// Rings parses the two key rings; the errors name the variable and the entry.
func (c Config) Rings() (enc, mac secrets.Ring, err error) {
	enc, err1 := parseRing("FLOWXI_ENCRYPTION_KEYS", "FLOWXI_ENCRYPTION_KEY", c.EncryptionKeys, c.EncryptionKey)
	mac, err2 := parseRing("FLOWXI_HMAC_KEYS", "FLOWXI_HMAC_KEY", c.HMACKeys, c.HMACKey)
	return enc, mac, errors.Join(err1, err2)
}

// parseRing reads one ring from its variable, or from the single-key variable as v1. Setting
// both is refused: which one wins would be a guess.
func parseRing(ringName, singleName, ring, single string) (secrets.Ring, error) {
	if strings.TrimSpace(ring) != "" && strings.TrimSpace(single) != "" {
		return secrets.Ring{}, fmt.Errorf("%s and %s are both set: keep only %[1]s (put the old key in it as v1)", ringName, singleName)
	}
	name := ringName
	if strings.TrimSpace(ring) == "" {
		name = singleName
	}
	r, err := secrets.ParseRing(ringSpec(ring, single))
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// validateRings checks the key rings wherever they are set (a malformed ring is refused in
// every mode) and, in production, that both are set, random-looking and share no key.
func (c Config) validateRings() []error {
	if c.EncryptionRing() == "" || c.HMACRing() == "" {
		if c.Production() {
			return []error{errors.New("FLOWXI_ENCRYPTION_KEYS (or FLOWXI_ENCRYPTION_KEY) and FLOWXI_HMAC_KEYS (or FLOWXI_HMAC_KEY) are required in production")}
		}
		if c.EncryptionRing() == "" && c.HMACRing() == "" {
			return nil // development: generated into FLOWXI_DATA_DIR (EnsureLocalSecrets)
		}
	}
	enc, mac, err := c.Rings()
	if err != nil {
		return []error{err}
	}
	if !c.Production() {
		return nil
	}
	var errs []error
	if enc.Shares(mac) {
		errs = append(errs, errors.New("the encryption and HMAC key rings must not share a key"))
	}
	for name, r := range map[string]secrets.Ring{"encryption": enc, "HMAC": mac} {
		for _, v := range r.WeakVersions() {
			errs = append(errs, fmt.Errorf("%s key %s looks like a default or test key: generate 32 random bytes", name, v))
		}
	}
	return errs
}
