package mail

import "testing"

func TestParseSMTPURL(t *testing.T) {
	cases := []struct {
		in   string
		want SMTPConfig
		bad  bool
	}{
		{in: "smtps://u:p%40ss@mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 465, Username: "u", Password: "p@ss", TLS: "implicit"}},
		{in: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 587, TLS: "starttls"}},
		{in: "smtp://127.0.0.1:2525?tls=none", want: SMTPConfig{Host: "127.0.0.1", Port: 2525, TLS: "none"}},
		{in: "smtp://relay:25?tls=opportunistic", want: SMTPConfig{Host: "relay", Port: 25, TLS: "opportunistic"}},
		{in: "http://mail.example.com", bad: true},
		{in: "smtp://mail.example.com?tls=maybe", bad: true},
		{in: "smtp://:25", bad: true},
		{in: "smtp://host:port", bad: true},
	}
	for _, tc := range cases {
		got, err := ParseSMTPURL(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("%s: got %+v, %v", tc.in, got, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []int{10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800}
	for i, w := range want {
		if got := Backoff(i + 1).Seconds(); int(got) != w {
			t.Errorf("attempt %d: %v s, want %d", i+1, got, w)
		}
	}
}
