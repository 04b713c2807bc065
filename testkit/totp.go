package testkit

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TOTP is the code of a base32 secret at `at` computed by Debian's oathtool, an implementation
// independent of ours.
func TOTP(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "-N", "@"+strconv.FormatInt(at.Unix(), 10), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v (install it with `scripts/services.sh tools`)", err)
	}
	return strings.TrimSpace(string(out))
}

// FreshTOTPStep moves the server clock to the first seconds of a new time step, so codes computed
// now stay in their step during the request and the previous step's code is never replayed.
func (e *Env) FreshTOTPStep() time.Time {
	now := e.Clock.Now()
	into := time.Duration(now.Unix()%30)*time.Second + time.Duration(now.Nanosecond())
	e.Clock.Advance(30*time.Second - into + time.Second)
	return e.Clock.Now()
}

// WrongTOTP is a 6-digit code valid for none of the steps the server accepts now.
func (e *Env) WrongTOTP(secret string) string {
	e.T.Helper()
	var valid []string
	for s := -1; s <= 1; s++ {
		valid = append(valid, TOTP(e.T, secret, e.Clock.Now().Add(time.Duration(s)*30*time.Second)))
	}
	return WrongCode(valid...)
}

// WrongCode is a 6-digit code (e-mail OTP or TOTP) that is none of valid: the first of
// 000000, 111111, … 999999 not among them.
func WrongCode(valid ...string) string {
	for d := 0; d < 10; d++ {
		if c := strings.Repeat(strconv.Itoa(d), 6); !slices.Contains(valid, c) {
			return c
		}
	}
	panic("testkit: WrongCode: every candidate is valid")
}
