package config

import (
	"strings"
	"testing"
)

func TestProductionRefusesUnsafeSettings(t *testing.T) {
	good := Config{Env: "production", DatabaseURL: "postgres://x", SMTPURL: "smtp://mail:587",
		EncryptionKey: "8f3a9c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f90112233445566778899aabbcc0",
		HMACKey:       "0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good production config refused: %v", err)
	}
	cases := map[string]func(*Config){
		"missing secrets":  func(c *Config) { c.EncryptionKey, c.HMACKey = "", "" },
		"default key":      func(c *Config) { c.EncryptionKey = strings.Repeat("11", 32) },
		"same keys":        func(c *Config) { c.HMACKey = c.EncryptionKey },
		"log mail driver":  func(c *Config) { c.SMTPURL = "" },
		"no database":      func(c *Config) { c.DatabaseURL = "" },
		"unknown env":      func(c *Config) { c.Env = "prod" },
		"not a key at all": func(c *Config) { c.HMACKey = "changeme" },
		"ledger audit off": func(c *Config) { c.BenchmarkLedgerAuditOff = true },
	}
	for name, mutate := range cases {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dev := good
	dev.Env, dev.SMTPURL = "development", ""
	if err := dev.Validate(); err != nil {
		t.Fatalf("development defaults refused: %v", err)
	}
	if r := good.Redacted(); strings.Contains(r.EncryptionKey+r.HMACKey, "8f3a") || r.HMACKey != "[redacted]" {
		t.Fatalf("not redacted: %+v", r)
	}
}
