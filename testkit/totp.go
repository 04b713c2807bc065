package testkit

import (
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
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

// Enroll2FA turns 2FA on for u the way a client does: read the otpauth URI of the status,
// compute the code of a fresh time step (oathtool), enable; then the clock moves to the next
// step (the enable step is spent). It returns the secret and the recovery codes.
func (e *Env) Enroll2FA(u User) (string, []string) {
	e.T.Helper()
	st := e.Do(Req{Method: "GET", Path: "/api/v1/auth/2fa/status", Token: u.Token})
	status := Decode[api.TwofaStatusResponse](e.T, st)
	if st.Status != 200 || status.Enabled {
		e.T.Fatalf("2fa status: %d %s", st.Status, st.Body)
	}
	uri, err := url.Parse(ptr.Value(status.OtpauthUri))
	if err != nil {
		e.T.Fatal(err)
	}
	secret := uri.Query().Get("secret")
	at := e.FreshTOTPStep()
	r := e.Do(Req{Method: "POST", Path: "/api/v1/auth/2fa/enable", Token: u.Token, JSON: map[string]any{"code": TOTP(e.T, secret, at)}})
	if r.Status != 200 || r.Code() != "TWOFA_ENABLED" {
		e.T.Fatalf("2fa enable: %d %s", r.Status, r.Body)
	}
	e.FreshTOTPStep()
	return secret, Decode[api.TwofaEnabledResponse](e.T, r).RecoveryCodes
}
