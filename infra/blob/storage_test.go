package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/testkit"
)

// driver is one implementation under the contract, with a way to fetch its signed URLs and to
// let a URL expire.
type driver struct {
	s      blob.Storage
	fetch  func(t *testing.T, url string) (int, string, []byte)
	expire func(ttl time.Duration)
}

// The same contract runs against the local directory and a real MinIO server.
func TestStorageContract(t *testing.T) {
	t.Run("local", func(t *testing.T) { contract(t, localDriver(t)) })
	t.Run("s3", func(t *testing.T) { contract(t, s3Driver(t)) })
}

func localDriver(t *testing.T) driver {
	keys, err := secrets.New(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	fc := &clock.Fake{}
	var l *blob.Local
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := l.ServeSigned(w, r, strings.TrimPrefix(r.URL.Path, blob.LocalRoute)); err != nil {
			ae, _ := apierr.As(err)
			http.Error(w, ae.Code, ae.Status)
		}
	}))
	t.Cleanup(srv.Close)
	if l, err = blob.NewLocal(t.TempDir(), srv.URL, keys, fc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return driver{s: l, fetch: get, expire: func(ttl time.Duration) { fc.Advance(ttl + time.Second) }}
}

func s3Driver(t *testing.T) driver {
	srv := testkit.StartS3(t)
	s, err := blob.NewS3(blob.S3Options{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	// S3 checks expiry with its own clock: let real time pass.
	return driver{s: s, fetch: get, expire: func(ttl time.Duration) { time.Sleep(ttl + 1500*time.Millisecond) }}
}

func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

func contract(t *testing.T, d driver) {
	ctx := context.Background()
	s := d.s
	body := []byte("\xff\xd8\xff not really a jpeg")
	put := func(key string, b []byte, ct string) {
		t.Helper()
		if err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), ct); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}

	t.Run("put get replace", func(t *testing.T) {
		put("docs/a/one.jpg", body, "image/jpeg")
		r, obj, err := s.Get(ctx, "docs/a/one.jpg")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, body) || obj.Size != int64(len(body)) || obj.ContentType != "image/jpeg" {
			t.Fatalf("got %q %+v", got, obj)
		}
		put("docs/a/one.jpg", []byte("v2"), "application/pdf")
		r, obj, err = s.Get(ctx, "docs/a/one.jpg")
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(r)
		r.Close()
		if string(got) != "v2" || obj.ContentType != "application/pdf" {
			t.Fatalf("replace: %q %+v", got, obj)
		}
	})

	t.Run("missing and delete", func(t *testing.T) {
		if _, _, err := s.Get(ctx, "docs/none.jpg"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		put("docs/del.jpg", body, "image/jpeg")
		for i := 0; i < 2; i++ { // deleting twice is fine
			if err := s.Delete(ctx, "docs/del.jpg"); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.Get(ctx, "docs/del.jpg"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("short body stores nothing", func(t *testing.T) {
		err := s.Put(ctx, "docs/short.jpg", bytes.NewReader([]byte("abc")), 10, "image/jpeg")
		if err == nil {
			t.Fatal("short body accepted")
		}
		if _, _, err := s.Get(ctx, "docs/short.jpg"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("short body left an object: %v", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		put("list/b.jpg", body, "image/jpeg")
		put("list/a.jpg", body, "image/jpeg")
		put("list/sub/c.jpg", body, "image/jpeg")
		put("listing.jpg", body, "image/jpeg")
		keys, err := s.List(ctx, "list/")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(keys, ",") != "list/a.jpg,list/b.jpg,list/sub/c.jpg" {
			t.Fatalf("list: %v", keys)
		}
	})

	t.Run("hostile keys", func(t *testing.T) {
		for _, k := range []string{"", "../etc/passwd", "/abs", "a//b", "a/./b", "a/../b", "a b", `a\b`, "%2e%2e/x", "a/", "é.jpg", strings.Repeat("a", 513)} {
			if err := s.Put(ctx, k, bytes.NewReader(body), int64(len(body)), "image/jpeg"); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("put %q: %v", k, err)
			}
			if _, _, err := s.Get(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("get %q: %v", k, err)
			}
			if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("delete %q: %v", k, err)
			}
			if _, err := s.SignedURL(ctx, k, time.Minute); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("sign %q: %v", k, err)
			}
		}
	})

	t.Run("signed url", func(t *testing.T) {
		put("signed/p.jpg", body, "image/jpeg")
		u, err := s.SignedURL(ctx, "signed/p.jpg", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		status, ct, got := d.fetch(t, u)
		if status != 200 || ct != "image/jpeg" || !bytes.Equal(got, body) {
			t.Fatalf("fetch: %d %q %q", status, ct, got)
		}
		tampered := []string{
			strings.Replace(u, "signed/p.jpg", "signed/q.jpg", 1),
			flipLastHex(u),
		}
		for _, tu := range tampered {
			if status, _, _ := d.fetch(t, tu); status != http.StatusForbidden {
				t.Errorf("tampered %s: %d", tu, status)
			}
		}
		d.expire(time.Second)
		if status, _, _ := d.fetch(t, u); status != http.StatusForbidden {
			t.Fatalf("expired url: %d", status)
		}
	})
}

// flipLastHex changes the last character of the URL's signature.
func flipLastHex(u string) string {
	i := strings.LastIndex(u, "ignature=")
	if i < 0 {
		return u + "0"
	}
	j := i + len("ignature=")
	c := byte('0')
	if u[j] == '0' {
		c = '1'
	}
	return u[:j] + string(c) + u[j+1:]
}
