package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options configure the S3-compatible driver (values from the S3_* settings).
type S3Options struct {
	Endpoint  string // https://s3.us-west-004.backblazeb2.com, http://127.0.0.1:9000 or a bare host (HTTPS)
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	PathStyle bool // bucket in the path rather than in the host name (MinIO; B2 accepts both)
}

// S3 stores objects in one bucket of an S3-compatible service. Signed URLs are SigV4
// pre-signed GETs, so the service itself enforces their expiry.
type S3 struct {
	client *minio.Client
	bucket string
}

var _ Storage = (*S3)(nil)

// NewS3 builds the client; it does not contact the service.
func NewS3(o S3Options) (*S3, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("storage: S3_ENDPOINT and S3_BUCKET are required for the s3 driver")
	}
	host, secure := o.Endpoint, true
	if strings.Contains(o.Endpoint, "://") {
		u, err := url.Parse(o.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("storage: S3_ENDPOINT %q is not an http(s) URL", o.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	lookup := minio.BucketLookupDNS
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       secure,
		Region:       o.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: s3 client: %w", err)
	}
	return &S3{client: c, bucket: o.Bucket}, nil
}

// Put uploads the object in one request (objects here are a few MiB at most).
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentTypeOrDefault(contentType)})
	if err != nil {
		return fmt.Errorf("storage: s3 put: %w", err)
	}
	return nil
}

// Get opens the object; its metadata is fetched first so a missing key is reported at once.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if !ValidKey(key) {
		return nil, Object{}, ErrInvalidKey
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Object{}, s.mapErr("get", err)
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, Object{}, s.mapErr("get", err)
	}
	return obj, Object{Key: key, Size: st.Size, ContentType: contentTypeOrDefault(st.ContentType)}, nil
}

// Delete removes the object; S3 answers success for a missing key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.mapErr("delete", err)
	}
	return nil
}

// List returns every key under prefix (all pages).
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	if !validPrefix(prefix) {
		return nil, ErrInvalidKey
	}
	var out []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, s.mapErr("list", o.Err)
		}
		out = append(out, o.Key)
	}
	sort.Strings(out)
	return out, nil
}

// SignedURL pre-signs a GET valid for ttl (S3 accepts 1 s to 7 days).
func (s *S3) SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if !ValidKey(key) {
		return "", ErrInvalidKey
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("storage: s3 presign: %w", err)
	}
	return u.String(), nil
}

func (s *S3) mapErr(op string, err error) error {
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return ErrNotFound
	}
	return fmt.Errorf("storage: s3 %s: %w", op, err)
}
