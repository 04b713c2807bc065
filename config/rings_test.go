package config

import (
	"strings"
	"testing"
)

const (
	ringKey1 = "8f3a9c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f90112233445566778899aabbcc0"
	ringKey2 = "0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a"
	ringKey3 = "5e1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
)

// A malformed key ring is a configuration error in every mode, naming the variable, the entry
// and the rule (never the key).
func TestKeyRingErrorsAreConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, ring, want string }{
		{"bad version", "x2:" + ringKey2, `FLOWXI_ENCRYPTION_KEYS: entry 1: bad version "x2"`},
		{"duplicate version", "v2:" + ringKey2 + ",v2:" + ringKey1, "FLOWXI_ENCRYPTION_KEYS: version v2 appears twice"},
		{"wrong key length", "v2:" + ringKey2[:40] + ",v1:" + ringKey1, "FLOWXI_ENCRYPTION_KEYS: v2: key must be 32 bytes"},
		{"oldest first", "v1:" + ringKey1 + ",v2:" + ringKey2, "FLOWXI_ENCRYPTION_KEYS: versions must be listed newest first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FLOWXI_ENCRYPTION_KEYS", tc.ring)
			t.Setenv("FLOWXI_HMAC_KEYS", "v1:"+ringKey3)
			t.Setenv("DATABASE_URL", "postgres://x")
			c, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), ringKey1[:12]) || strings.Contains(err.Error(), ringKey2[:12]) {
				t.Fatalf("error shows a key: %v", err)
			}
		})
	}
}

// The single-key variables are the one-key ring v1; the ring variables win over nothing:
// setting both forms of one secret is refused.
func TestSingleKeyVariablesAreRingV1(t *testing.T) {
	c := Config{DatabaseURL: "postgres://x", Env: "development", EncryptionKey: ringKey1, HMACKeys: "v3:" + ringKey3 + ",v1:" + ringKey2}
	if c.EncryptionRing() != "v1:"+ringKey1 || c.HMACRing() != c.HMACKeys {
		t.Fatalf("rings: %q %q", c.EncryptionRing(), c.HMACRing())
	}
	enc, mac, err := c.Rings()
	if err != nil || enc.Newest() != "v1" || strings.Join(mac.Versions(), ",") != "v3,v1" {
		t.Fatalf("rings: %v %v %v", enc.Versions(), mac.Versions(), err)
	}
	c.EncryptionKeys = "v2:" + ringKey3
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "FLOWXI_ENCRYPTION_KEYS and FLOWXI_ENCRYPTION_KEY are both set") {
		t.Fatalf("both forms: %v", err)
	}
	if r := c.Redacted(); r.EncryptionKeys != "[redacted]" || r.HMACKeys != "[redacted]" {
		t.Fatalf("rings not redacted: %+v", r)
	}
}

// Production checks every key of both rings: random-looking, and no key in both rings.
func TestProductionChecksEveryRingKey(t *testing.T) {
	good := Config{Env: "production", DatabaseURL: "postgres://x", SMTPURL: "smtps://mail:465",
		EncryptionKeys: "v2:" + ringKey1 + ",v1:" + ringKey3, HMACKeys: "v1:" + ringKey2}
	if err := good.Validate(); err != nil {
		t.Fatalf("good: %v", err)
	}
	weak := good
	weak.EncryptionKeys = "v2:" + ringKey1 + ",v1:" + strings.Repeat("11", 32)
	if err := weak.Validate(); err == nil || !strings.Contains(err.Error(), "encryption key v1 looks like a default") {
		t.Fatalf("weak old key: %v", err)
	}
	shared := good
	shared.HMACKeys = "v2:" + ringKey2 + ",v1:" + ringKey3
	if err := shared.Validate(); err == nil || !strings.Contains(err.Error(), "must not share a key") {
		t.Fatalf("shared key: %v", err)
	}
}
