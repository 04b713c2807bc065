package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowxi/backend/kit/clock"
)

// Signer computes and checks the HMAC that authenticates local signed URLs (secrets.Keys
// satisfies it).
type Signer interface {
	MAC(purpose, value string) []byte
	VerifyMAC(purpose, value string, mac []byte) bool
}

// LocalRoute is the path prefix under which the server serves local signed URLs.
const LocalRoute = "/files/"

// macPurpose separates URL signatures from every other HMAC made with the server key.
const macPurpose = "storage.signed_url"

// Local keeps objects in a directory: objects/<key> holds the bytes and meta/<key> the content
// type. Every file access goes through os.Root, so no key (or symlink) can escape the directory.
type Local struct {
	root    *os.Root
	baseURL string
	signer  Signer
	clock   clock.Clock
}

var _ Storage = (*Local)(nil)

// NewLocal opens (creating it if needed) the directory dir. baseURL is the public URL of this
// server (e.g. https://api.flowxi.app); signed URLs are relative when it is empty.
func NewLocal(dir, baseURL string, signer Signer, c clock.Clock) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: local dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: local dir: %w", err)
	}
	for _, d := range []string{"objects", "meta", "tmp"} {
		if err := root.MkdirAll(d, 0o700); err != nil {
			_ = root.Close()
			return nil, fmt.Errorf("storage: local dir: %w", err)
		}
	}
	return &Local{root: root, baseURL: strings.TrimSuffix(baseURL, "/"), signer: signer, clock: c}, nil
}

// Close releases the directory handle.
func (l *Local) Close() error { return l.root.Close() }

// Put writes to a temporary file, syncs it and renames it into place, so a reader never sees
// a partial object.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.writeAtomic(path.Join("meta", key), strings.NewReader(contentTypeOrDefault(contentType)), -1); err != nil {
		return err
	}
	return l.writeAtomic(path.Join("objects", key), r, size)
}

// writeAtomic copies r (exactly size bytes unless size < 0) to name through a temporary file.
func (l *Local) writeAtomic(name string, r io.Reader, size int64) (err error) {
	tmp := "tmp/" + randomHex(12)
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("storage: local put: %w", err)
	}
	defer func() {
		if err != nil {
			_ = l.root.Remove(tmp)
		}
	}()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1)
	}
	n, err := io.Copy(f, src)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("storage: local put: got %d bytes, want %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = l.root.MkdirAll(path.Dir(name), 0o700); err != nil {
		return fmt.Errorf("storage: local put: %w", err)
	}
	if err = l.root.Rename(tmp, name); err != nil {
		return fmt.Errorf("storage: local put: %w", err)
	}
	return nil
}

// Get opens the object and reads its content type.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if !ValidKey(key) {
		return nil, Object{}, ErrInvalidKey
	}
	f, err := l.root.Open(path.Join("objects", key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Object{}, ErrNotFound
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("storage: local get: %w", err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, Object{}, ErrNotFound
	}
	ct := "application/octet-stream"
	if b, err := l.root.ReadFile(path.Join("meta", key)); err == nil {
		ct = contentTypeOrDefault(string(b))
	}
	return f, Object{Key: key, Size: st.Size(), ContentType: ct}, nil
}

// Delete removes the object and its metadata; a missing object is not an error.
func (l *Local) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	for _, name := range []string{path.Join("objects", key), path.Join("meta", key)} {
		if err := l.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: local delete: %w", err)
		}
	}
	return nil
}

// List walks objects/ and returns the keys under prefix.
func (l *Local) List(ctx context.Context, prefix string) ([]string, error) {
	if !validPrefix(prefix) {
		return nil, ErrInvalidKey
	}
	var out []string
	err := fs.WalkDir(l.root.FS(), "objects", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if key := strings.TrimPrefix(p, "objects/"); strings.HasPrefix(key, prefix) {
				out = append(out, key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: local list: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// SignedURL returns <baseURL>/files/<key>?expires=<unix>&signature=<hex HMAC>.
func (l *Local) SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if !ValidKey(key) {
		return "", ErrInvalidKey
	}
	exp := strconv.FormatInt(l.clock.Now().Add(ttl).Unix(), 10)
	sig := hex.EncodeToString(l.signer.MAC(macPurpose, signedValue(key, exp)))
	return l.baseURL + LocalRoute + key + "?expires=" + exp + "&signature=" + sig, nil
}

// signedValue is what the HMAC covers; keys cannot contain '\n', so it is unambiguous.
func signedValue(key, expires string) string { return key + "\n" + expires }

func contentTypeOrDefault(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" || len(ct) > 255 || strings.ContainsAny(ct, "\r\n") {
		return "application/octet-stream"
	}
	return ct
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
