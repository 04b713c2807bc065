package ratelimit

import "testing"

func TestNetworkCountsAnIPv6Slash64AsOneAddress(t *testing.T) {
	for ip, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"::ffff:192.0.2.7":          "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":      "2001:db8:1:2::/64",
		"fe80::1%eth0":              "fe80::/64",
		"not an address":            "not an address",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"2001:0db8:0001:0002::0009": "2001:db8:1:2::/64",
	} {
		if got := Network(ip); got != want {
			t.Errorf("Network(%q) = %q, want %q", ip, got, want)
		}
	}
}
