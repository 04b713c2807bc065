package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The parsers of the settings table: each stores a non-empty value in its field of Config and
// leaves the field at its zero value for "". Load prefixes their errors with the variable's name.

func text(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

// is sets a flag that is on only when the value is exactly on.
func is(p *bool, on string) func(string) error {
	return func(v string) error { *p = v == on; return nil }
}

// flag reads a boolean written true or 1, false or 0.
func flag(p *bool) func(string) error {
	return func(v string) error {
		switch v {
		case "true", "1":
			*p = true
		case "", "false", "0":
			*p = false
		default:
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	}
}

// ratio reads a decimal number between 0 and 1 (a share, never money).
func ratio(p *float64) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("%q is not a number between 0 and 1", v)
		}
		*p = f
		return nil
	}
}

// list reads comma-separated values, trimmed, empty ones dropped.
func list(p *[]string) func(string) error {
	return func(v string) error { *p = split(v); return nil }
}

// prefixes reads comma-separated IPs or CIDRs (an IP is its own /32 or /128).
func prefixes(p *[]netip.Prefix) func(string) error {
	return func(v string) error {
		for _, s := range split(v) {
			pfx, err := parsePrefix(s)
			if err != nil {
				return err
			}
			*p = append(*p, pfx)
		}
		return nil
	}
}

// duration reads a Go duration ("90s", "1h") or a whole number of seconds.
func duration(p *time.Duration) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		if d, err := time.ParseDuration(v); err == nil {
			*p = d
			return nil
		}
		secs, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration", v)
		}
		*p = time.Duration(secs) * time.Second
		return nil
	}
}

type integer interface{ ~int | ~int64 | ~uint32 }

// atLeast reads a decimal integer of p's type no smaller than least.
func atLeast[T integer](p *T, least T) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		n, ok := parseInteger[T](v)
		switch {
		case ok && n >= least:
			*p = n
			return nil
		case least == 1:
			return fmt.Errorf("%q is not a positive integer", v)
		}
		return fmt.Errorf("%q is not an integer ≥ %d", v, least)
	}
}

// parseInteger parses v as a T, refusing what does not fit (and a sign on an unsigned type).
func parseInteger[T integer](v string) (T, bool) {
	var zero T
	if zero-1 > zero { // unsigned
		u, err := strconv.ParseUint(v, 10, 64)
		return T(u), err == nil && uint64(T(u)) == u
	}
	i, err := strconv.ParseInt(v, 10, 64)
	return T(i), err == nil && int64(T(i)) == i
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
