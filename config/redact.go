package config

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
)

// redactedMark replaces every hidden value.
const redactedMark = "[redacted]"

// Redacted returns a printable copy with secrets hidden. It walks every string and []string
// field by reflection, so a setting added later is covered without editing this function:
// fields tagged `redact:"all"` (keys) are hidden whole; every other value loses the credentials
// it may carry — the user information of a URL (DATABASE_URL, REDIS_URL, SMTP_URL, S3_ENDPOINT,
// …), secret-looking query parameters (`?password=`, `?sig=`) and `password=` pairs of a
// key/value connection string.
func (c Config) Redacted() Config {
	r := c
	v := reflect.ValueOf(&r).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		all := t.Field(i).Tag.Get("redact") == "all"
		switch f.Kind() {
		case reflect.String:
			f.SetString(redactValue(f.String(), all))
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				continue
			}
			out := make([]string, f.Len())
			for j := range out {
				out[j] = redactValue(f.Index(j).String(), all)
			}
			if f.Len() > 0 {
				f.Set(reflect.ValueOf(out))
			}
		}
	}
	return r
}

func redactValue(s string, all bool) string {
	if s == "" {
		return s
	}
	if all {
		return redactedMark
	}
	return RedactCredentials(s)
}

// dsnSecret matches `password=…` (and the like) in a key/value connection string.
var dsnSecret = regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|token)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// RedactCredentials hides the credentials a setting value may carry and keeps the rest (scheme,
// host, path) readable. A value with "://" that does not parse as a URL is hidden whole.
func RedactCredentials(s string) string {
	if !strings.Contains(s, "://") {
		return dsnSecret.ReplaceAllString(s, "$1="+redactedMark)
	}
	u, err := url.Parse(s)
	if err != nil {
		return redactedMark
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString(redactedMark + "@")
	}
	b.WriteString(u.Host + u.EscapedPath())
	if u.RawQuery != "" {
		b.WriteString("?" + redactQuery(u.RawQuery))
	}
	if u.Fragment != "" {
		b.WriteString("#" + redactedMark)
	}
	return b.String()
}

// redactQuery hides the values of secret-looking query parameters.
func redactQuery(raw string) string {
	pairs := strings.Split(raw, "&")
	for i, p := range pairs {
		k, _, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || secretName(name) {
			pairs[i] = k + "=" + redactedMark
		}
	}
	return strings.Join(pairs, "&")
}

func secretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "sig", "auth", "credential"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
