// Package blob keeps binary objects (profile photos, later KYC documents) behind one small
// interface with two drivers: S3-compatible object storage (Backblaze B2, MinIO, AWS) and a
// local directory whose signed URLs are served by this server. Callers store only the key in
// the database and build a time-limited URL on every read.
package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Storage is what services need from an object store. Keys are validated with ValidKey by
// every driver, so a caller can never address anything outside the store.
type Storage interface {
	// Put stores size bytes from r under key with the given content type, replacing any
	// previous object. The object is complete and visible only once Put returns nil.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens an object; the caller closes it. A missing key is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Delete removes an object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// SignedURL returns a URL that serves the object without credentials until ttl elapses.
	SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Object describes a stored object.
type Object struct {
	Key         string
	Size        int64
	ContentType string
}

// Errors every driver returns.
var (
	ErrNotFound   = errors.New("storage: object not found")
	ErrInvalidKey = errors.New("storage: invalid key")
)

// MaxKeyLen bounds keys well under S3's 1024-byte limit.
const MaxKeyLen = 512

// ValidKey accepts slash-separated segments of ASCII letters, digits, '.', '_' and '-', with no
// empty, "." or ".." segment. Such keys need no URL escaping and cannot leave a directory.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validPrefix accepts "" or a prefix made of key characters (it may end with '/').
func validPrefix(prefix string) bool {
	return prefix == "" || ValidKey(strings.TrimSuffix(prefix, "/")+"x")
}
