package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Every string setting, present and future, is walked: a URL with a password (in its user
// information and in a query parameter) must lose both in Redacted, whatever the field is.
func TestRedactedHidesCredentialsOfEverySetting(t *testing.T) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	secrets := map[string]string{} // field → the secrets put in it
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		pw, q := "pw-"+strings.ToLower(name), "q-"+strings.ToLower(name)
		u := fmt.Sprintf("scheme://user:%s@host.example:1234/path?password=%s&sslmode=disable", pw, q)
		switch f := v.Field(i); {
		case f.Kind() == reflect.String:
			f.SetString(u)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.ValueOf([]string{u}))
		default:
			continue
		}
		secrets[name] = pw + " " + q
	}
	if len(secrets) < 20 {
		t.Fatalf("only %d string settings found", len(secrets))
	}
	out := fmt.Sprintf("%+v", c.Redacted())
	for field, s := range secrets {
		for _, secret := range strings.Fields(s) {
			if strings.Contains(out, secret) {
				t.Errorf("%s: %s printed by Redacted", field, secret)
			}
		}
	}
	// What is not a credential stays readable.
	if r := c.Redacted(); r.RedisURL != "scheme://[redacted]@host.example:1234/path?password=[redacted]&sslmode=disable" {
		t.Errorf("REDIS_URL redacted as %q", r.RedisURL)
	}
}

func TestRedactCredentialsForms(t *testing.T) {
	cases := map[string]string{
		"redis://:s3cret@127.0.0.1:6379/0":                            "redis://[redacted]@127.0.0.1:6379/0",
		"redis://default:s3cret@127.0.0.1:6379/0":                     "redis://[redacted]@127.0.0.1:6379/0",
		"postgres://app:s3cret@db:5432/flowxi?sslmode=require":        "postgres://[redacted]@db:5432/flowxi?sslmode=require",
		"postgres://db/flowxi?user=app&password=s3cret":               "postgres://db/flowxi?user=app&password=[redacted]",
		"host=db user=app password=s3cret dbname=flowxi":              "host=db user=app password=[redacted] dbname=flowxi",
		"host=db password='s3 cret' dbname=flowxi":                    "host=db password=[redacted] dbname=flowxi",
		"smtps://apikey:s3cret@smtp.example.com:465":                  "smtps://[redacted]@smtp.example.com:465",
		"https://s3.example.com/?X-Amz-Signature=s3cret&X-Amz-Date=1": "https://s3.example.com/?X-Amz-Signature=[redacted]&X-Amz-Date=1",
		"http://%zz:s3cret@host":                                      "[redacted]",
		"127.0.0.1:9090":                                              "127.0.0.1:9090",
	}
	for in, want := range cases {
		if got := RedactCredentials(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
