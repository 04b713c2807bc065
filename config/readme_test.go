package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// offWhenEmpty says, per variable, what "off" means in the loaded configuration.
var offWhenEmpty = map[string]func(Config) bool{
	"METRICS_ADDR":             func(c Config) bool { return c.MetricsAddr == "" },
	"SMTP_URL":                 func(c Config) bool { return c.SMTPURL == "" },
	"TRUSTED_PROXIES":          func(c Config) bool { return len(c.TrustedProxies) == 0 },
	"CORS_ORIGINS":             func(c Config) bool { return len(c.CORSOrigins) == 0 },
	"WEBHOOK_ALLOWED_NETWORKS": func(c Config) bool { return len(c.WebhookAllowedNetworks) == 0 },
	"DATABASE_READ_URL":        func(c Config) bool { return c.DatabaseReadURL == "" },
}

// readmeRow is one row of the README's environment table: the variables it names (one or
// more), their default and meaning as written.
type readmeRow struct {
	names        []string
	def, meaning string
}

// readmeEnv returns the rows of the README's environment table (the block after its marker)
// and the sentence under it that describes NAME_FILE ("" if none).
func readmeEnv(t *testing.T) (rows []readmeRow, fileSentence string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- env table")
	if !ok {
		t.Fatal("README: env table marker not found")
	}
	table, rest, _ := strings.Cut(rest, "\n\n")
	after, _, _ := strings.Cut(rest, "\n\n")
	for _, sentence := range strings.Split(after, ". ") {
		if strings.Contains(sentence, "`NAME_FILE`") {
			fileSentence = sentence
		}
	}
	row := regexp.MustCompile("(?m)^\\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \\| ([^|]*) \\|(.*)\\|$")
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		r := readmeRow{def: strings.TrimSpace(m[2]), meaning: m[3]}
		for _, v := range strings.Split(m[1], ", ") {
			r.names = append(r.names, strings.Trim(v, "`"))
		}
		rows = append(rows, r)
	}
	return rows, fileSentence
}

// readmeOffVariables lists the README's environment variables whose row documents an empty or
// absent value as "off": "(empty: off)", or a default of "none: …" / "unset: …".
func readmeOffVariables(t *testing.T) []string {
	t.Helper()
	rows, _ := readmeEnv(t)
	var out []string
	for _, r := range rows {
		if strings.Contains(r.def+r.meaning, "empty: off") || strings.HasPrefix(r.def, "none:") || strings.HasPrefix(r.def, "unset:") {
			out = append(out, r.names...)
		}
	}
	return out
}

// The README's environment table lists exactly the variables Load reads, from its settings
// table: each has a row (a row may name several), and no row names one that is not read.
// NAME_FILE forms have no rows: the sentence under the table names every secret, and only them.
func TestReadmeEnvTableListsEveryVariableLoadReads(t *testing.T) {
	rows, fileSentence := readmeEnv(t)
	documented := map[string]bool{}
	for _, r := range rows {
		for _, name := range r.names {
			if documented[name] {
				t.Errorf("README's environment table has two rows for %s", name)
			}
			documented[name] = true
		}
	}
	read, secrets := map[string]bool{}, map[string]bool{}
	for _, s := range settings(&Config{}) {
		if read[s.name] {
			t.Errorf("%s has two rows in the settings table", s.name)
		}
		read[s.name], secrets[s.name] = true, s.read == secret
		if !documented[s.name] {
			t.Errorf("%s is read by config.Load but has no row in the README's environment table", s.name)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("README's environment table lists %s, which config.Load does not read", name)
		}
	}
	if len(read) < 40 {
		t.Fatalf("only %d settings found", len(read))
	}
	if fileSentence == "" {
		t.Fatal("README: no sentence under the environment table describes `NAME_FILE`")
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]*_[A-Z0-9_]+)`").FindAllStringSubmatch(fileSentence, -1) {
		if read[m[1]] {
			named[m[1]] = true
		}
	}
	for name, isSecret := range secrets {
		switch {
		case isSecret && !named[name]:
			t.Errorf("%s accepts %[1]s_FILE, but the README's NAME_FILE sentence does not name it", name)
		case !isSecret && named[name]:
			t.Errorf("the README's NAME_FILE sentence names %s, which does not accept %[1]s_FILE", name)
		}
	}
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
