package testkit

import (
	"encoding/json"
	"testing"
)

// Decode reads the response body as T, usually a gen/api response type, so tests compare
// typed fields instead of asserting on map[string]any. Fields T does not declare are ignored
// (one envelope type need not list every sibling), but an empty body or a field of the wrong
// type fails the test.
func Decode[T any](t testing.TB, r *Resp) T {
	t.Helper()
	var v T
	if len(r.Body) == 0 {
		t.Fatalf("decode %T: response %d has no body", v, r.Status)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T from response %d: %v\nbody: %s", v, r.Status, err, r.Body)
	}
	return v
}

// DataOf reads the body's `data` envelope as T; a body without `data` fails the test.
func DataOf[T any](t testing.TB, r *Resp) T {
	t.Helper()
	env := Decode[struct {
		Data *T `json:"data"`
	}](t, r)
	if env.Data == nil {
		var v T
		t.Fatalf("decode %T: response %d has no data: %s", v, r.Status, r.Body)
	}
	return *env.Data
}

// Is says whether an optional (nullable) field of a decoded response is set to v.
func Is[T comparable](p *T, v T) bool { return p != nil && *p == v }
