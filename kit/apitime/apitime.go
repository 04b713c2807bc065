// Package apitime is the one rendering of instants in API bodies: UTC with microseconds, e.g.
// 2026-01-09T17:08:57.000000Z (the format every example in openapi.yaml shows). The audit
// chain hashes the same text, so changing Layout would break the verification of stored chains.
package apitime

import "time"

// Layout is the documented timestamp format.
const Layout = "2006-01-02T15:04:05.000000Z"

// Format renders t in UTC.
func Format(t time.Time) string { return t.UTC().Format(Layout) }

// FormatPtr renders an optional instant; nil stays nil.
func FormatPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Format(*t)
	return &s
}
