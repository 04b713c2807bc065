package twofactor_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/stepup"
	"github.com/flowxi/backend/services/twofactor"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// testUA is the User-Agent of the test client (net/http's default).
const testUA = "Go-http-client/1.1"

// oathtool computes the TOTP code of a base32 secret at t with Debian's oathtool (testkit.TOTP).
func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	return testkit.TOTP(t, secret, at)
}

// freshStep moves the server clock to the first seconds of a new time step (testkit).
func freshStep(env *testkit.Env) time.Time { return env.FreshTOTPStep() }

// code is oathtool's code for the server's current time step, shifted by steps.
func code(t *testing.T, env *testkit.Env, secret string, steps int) string {
	return oathtool(t, secret, env.Clock.Now().Add(time.Duration(steps)*30*time.Second))
}

// wrongCode is a 6-digit code valid for none of the accepted steps.
func wrongCode(t *testing.T, env *testkit.Env, secret string) string {
	t.Helper()
	return env.WrongTOTP(secret)
}

// enroll turns 2FA on for u the way a client does (testkit's Env.Enroll2FA). It returns the
// secret and the recovery codes.
func enroll(t *testing.T, env *testkit.Env, u testkit.User) (string, []string) {
	t.Helper()
	return env.Enroll2FA(u)
}

// newChallenge stands in for the password step of a login of u (IP and User-Agent of the
// test client unless given).
func newChallenge(t *testing.T, env *testkit.Env, u testkit.User, ip, ua string) challenge.Challenge {
	t.Helper()
	ch, err := challenge.New(env.Cache()).Create(context.Background(), challenge.Challenge{
		UserID: u.ID, IP: ip, UserAgent: ua, DeviceID: "dev-" + u.Email, DeviceType: "ios", DeviceName: "iPhone",
	}, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// service builds a TwoFactor over the env's storage, for the methods other services call.
func service(env *testkit.Env) *twofactor.TwoFactor {
	a := env.Parts()
	return twofactor.New(twofactor.Deps{
		Store: a.Store, Cache: a.Cache, Keys: a.Keys, Clock: a.Clock, Limiter: a.Limiter, Outbox: a.Outbox,
		Sessions: sessions.New(a.Store, a.Tokens, a.Outbox, a.Clock), Challenges: challenge.New(a.Cache),
		Grants: stepup.New(a.Cache), Limits: twofactor.DefaultLimits(),
	})
}

func lang(l string) map[string]string { return map[string]string{"X-App-Locale": l} }
