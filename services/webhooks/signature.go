package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery (openapi.yaml, tag Internal webhooks, says how to verify them).
const (
	HeaderSignature = "Flowxi-Signature"
	HeaderEventID   = "Flowxi-Event-Id"
	HeaderEventType = "Flowxi-Event-Type"
	HeaderAttempt   = "Flowxi-Delivery-Attempt"
)

// ReplayWindow is how far a signature's timestamp may be from the receiver's clock.
const ReplayWindow = 5 * time.Minute

// secretPrefix starts every signing secret, so a leaked one is recognisable by secret scanners.
const secretPrefix = "whsec_"

// newSecret draws a signing secret: the prefix and 32 random bytes, base64url.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// mac is hex(HMAC-SHA256(secret, t "." body)), the v1 scheme; t is the timestamp's digits as
// the header carries them.
func mac(secret, t string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign is the Flowxi-Signature header of body sent at t: its Unix time and one v1 signature per
// secret, in the order given (the current secret first, then the previous one during a
// rotation's overlap).
func Sign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(mac(s, ts, body))
	}
	return b.String()
}

// Errors of Verify.
var (
	ErrSignatureHeader = errors.New("webhooks: malformed signature header")
	ErrSignatureStale  = errors.New("webhooks: signature timestamp outside the replay window")
	ErrSignatureWrong  = errors.New("webhooks: no signature matches")
)

// Verify checks a Flowxi-Signature header the way the spec tells receivers to: the timestamp
// within ReplayWindow of now, and one v1 signature equal to the HMAC under secret (constant
// time). The server never calls it; it is the Go half of the recipe the TypeScript client's
// verifyWebhook implements, and the tests use it.
func Verify(secret, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, item := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		switch {
		case !ok:
			return ErrSignatureHeader
		case k == "t" && ts == "":
			ts = v
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureHeader
	}
	if d := now.Sub(time.Unix(t, 0)); d > ReplayWindow || d < -ReplayWindow {
		return ErrSignatureStale
	}
	want := []byte(mac(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrSignatureWrong
}
