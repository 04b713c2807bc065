package password

import (
	"reflect"
	"strings"
	"testing"

	"github.com/flowxi/backend/kit/apierr"
)

func TestCheckNew(t *testing.T) {
	const email = "ada.lovelace@example.com"
	cases := []struct {
		name, pw, confirm string
		want              map[string]string // field → rule
	}{
		{"strong", "Vanilla-Kestrel-42", "Vanilla-Kestrel-42", nil},
		{"too short", "Ab1-xyz", "Ab1-xyz", map[string]string{"password": "minLength"}},
		{"8 characters counted as runes", "éééééééé", "éééééééé", nil},
		{"too long", strings.Repeat("k", 129), strings.Repeat("k", 129), map[string]string{"password": "maxLength"}},
		{"confirmation differs", "Vanilla-Kestrel-42", "Vanilla-Kestrel-43", map[string]string{"password_confirmation": "confirmed"}},
		{"the email itself", email, email, map[string]string{"password": "password_email"}},
		{"contains the local part", "xxADA.LOVELACE99", "xxADA.LOVELACE99", map[string]string{"password": "password_email"}},
		{"common password", "Password123", "Password123", map[string]string{"password": "password_weak"}},
		{"common, any case", "QWERTYUIOP", "QWERTYUIOP", map[string]string{"password": "password_weak"}},
		{"weak and unconfirmed", "baseball", "baseball!", map[string]string{"password": "password_weak", "password_confirmation": "confirmed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			var fe apierr.Fields
			CheckNew(&fe, tc.pw, tc.confirm, email)
			if err := fe.Err(); err != nil {
				e, _ := apierr.As(err)
				if e == nil || e.Status != 422 || e.Code != "VALIDATION_FAILED" {
					t.Fatalf("error %v", e)
				}
				for f, rules := range e.Fields {
					if len(rules) != 1 {
						t.Fatalf("%s: %v", f, rules)
					}
					got[f] = rules[0].Key
				}
			}
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// A short local part is not searched for (it would refuse half the dictionary).
	var fe apierr.Fields
	if CheckNew(&fe, "Vanilla-Kestrel-42", "Vanilla-Kestrel-42", "ke@example.com"); fe.Err() != nil {
		t.Fatalf("short local part refused: %v", fe.Err())
	}
	if len(commonPasswords()) < 20000 {
		t.Fatalf("common-password list has %d entries", len(commonPasswords()))
	}
}
