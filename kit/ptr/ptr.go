// Package ptr converts between optional (pointer) values, as sqlc and the generated API models
// use them, and plain values.
package ptr

// Value is *p, or the zero value when p is nil.
func Value[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// NonZero points to v, or is nil when v is the zero value (an empty string is no value).
func NonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
