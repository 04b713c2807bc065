package webhooks

import (
	"testing"
	"time"
)

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_767_978_537, 0)
	body := []byte(`{"id":1}`)
	a, b := "whsec_a", "whsec_b"
	both := Sign(now, body, a, b)
	cases := []struct {
		name, secret, header string
		body                 []byte
		at                   time.Time
		want                 error
	}{
		{"current secret", a, both, body, now, nil},
		{"previous secret during the overlap", b, both, body, now, nil},
		{"at the edge of the window", a, both, body, now.Add(ReplayWindow), nil},
		{"stale", a, both, body, now.Add(ReplayWindow + time.Second), ErrSignatureStale},
		{"from the future", a, both, body, now.Add(-ReplayWindow - time.Second), ErrSignatureStale},
		{"other secret", "whsec_c", both, body, now, ErrSignatureWrong},
		{"other body", a, both, []byte(`{"id":2}`), now, ErrSignatureWrong},
		{"no signature", a, "t=1767978537", body, now, ErrSignatureHeader},
		{"no timestamp", a, "v1=00", body, now, ErrSignatureHeader},
		{"garbage", a, "nonsense", body, now, ErrSignatureHeader},
	}
	for _, c := range cases {
		if err := Verify(c.secret, c.header, c.body, c.at); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if want := "t=1767978537,v1="; both[:len(want)] != want {
		t.Errorf("header %q", both)
	}
}
