package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// offWhenEmpty says, per variable, what "off" means in the loaded configuration.
var offWhenEmpty = map[string]func(Config) bool{
	"METRICS_ADDR":    func(c Config) bool { return c.MetricsAddr == "" },
	"SMTP_URL":        func(c Config) bool { return c.SMTPURL == "" },
	"TRUSTED_PROXIES": func(c Config) bool { return len(c.TrustedProxies) == 0 },
	"CORS_ORIGINS":    func(c Config) bool { return len(c.CORSOrigins) == 0 },
}

// readmeOffVariables lists the README's environment variables whose row documents an empty or
// absent value as "off": "(empty: off)", or a default of "none: …" / "unset: …".
func readmeOffVariables(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "<!-- env table")
	if !ok {
		t.Fatal("README: env table marker not found")
	}
	row := regexp.MustCompile("(?m)^\\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \\| ([^|]*) \\|(.*)\\|$")
	var out []string
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		def, meaning := strings.TrimSpace(m[2]), m[3]
		if strings.Contains(def+meaning, "empty: off") || strings.HasPrefix(def, "none:") || strings.HasPrefix(def, "unset:") {
			for _, v := range strings.Split(m[1], ", ") {
				out = append(out, strings.Trim(v, "`"))
			}
		}
	}
	return out
}

// A variable the README documents as "empty: off" (or off by default) is off when set to the
// empty string, not silently given its default (METRICS_ADDR= used to bind 127.0.0.1:9090).
func TestEmptyValueTurnsDocumentedFeatureOff(t *testing.T) {
	vars := readmeOffVariables(t)
	if len(vars) < 4 {
		t.Fatalf("README env table: only %v found", vars)
	}
	for _, name := range vars {
		t.Run(name, func(t *testing.T) {
			off, ok := offWhenEmpty[name]
			if !ok {
				t.Fatalf("%s is documented as off when empty: add it to offWhenEmpty", name)
			}
			t.Setenv(name, "")
			if name == "SMTP_URL" {
				t.Setenv("SMTP_URL_FILE", "")
			}
			c, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			if !off(c) {
				t.Fatalf("%s= (empty) did not turn it off: %+v", name, c.Redacted())
			}
		})
	}
	// Unset still means the documented default.
	t.Setenv("METRICS_ADDR", "")
	os.Unsetenv("METRICS_ADDR")
	if c, err := Load(); err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("METRICS_ADDR unset: %q %v", c.MetricsAddr, err)
	}
}
