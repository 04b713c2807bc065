// Package docs publishes the contract: GET /api/v1/openapi.yaml returns openapi.yaml byte for
// byte, and GET /docs the Redocly reference page generated from it. Both are fixed documents
// handed in by the caller (the binary embeds them at build time), so this package never reads
// the filesystem and always serves what the server was built against. Both carry a strong ETag
// (a hash of their bytes) and a short public cache lifetime; a matching If-None-Match is a 304.
package docs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/flowxi/backend/gen/api"
)

// CacheControl is the lifetime both documents are served with: they change only with a new
// build, so browsers and shared caches may keep them five minutes, then revalidate.
const CacheControl = "public, max-age=300"

// doc is one published document and its validator.
type doc struct {
	body []byte
	etag string
}

func newDoc(b []byte) doc {
	sum := sha256.Sum256(b)
	return doc{body: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// fresh reports whether an If-None-Match header names this document's current version
// (RFC 9110 §13.1.2: a list of entity tags compared weakly, or `*`).
func (d doc) fresh(ifNoneMatch *string) bool {
	if ifNoneMatch == nil {
		return false
	}
	for _, tag := range strings.Split(*ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == d.etag {
			return true
		}
	}
	return false
}

// Docs implements the Docs operations of the generated strict interface.
type Docs struct{ spec, page doc }

// New builds the service from the contract (YAML) and its rendered HTML page.
func New(spec, page []byte) *Docs { return &Docs{spec: newDoc(spec), page: newDoc(page)} }

// GetOpenapiSpec returns the contract exactly as committed, or 304 when the caller has it.
func (d *Docs) GetOpenapiSpec(_ context.Context, req api.GetOpenapiSpecRequestObject) (api.GetOpenapiSpecResponseObject, error) {
	if d.spec.fresh(req.Params.IfNoneMatch) {
		return api.GetOpenapiSpec304Response{Headers: api.GetOpenapiSpec304ResponseHeaders{ETag: &d.spec.etag, CacheControl: cacheControl()}}, nil
	}
	return api.GetOpenapiSpec200ApplicationyamlResponse{
		Body: bytes.NewReader(d.spec.body), ContentLength: int64(len(d.spec.body)),
		Headers: api.GetOpenapiSpec200ResponseHeaders{ETag: &d.spec.etag, CacheControl: cacheControl()},
	}, nil
}

// GetDocs returns the reference page, or 304 when the caller has it.
func (d *Docs) GetDocs(_ context.Context, req api.GetDocsRequestObject) (api.GetDocsResponseObject, error) {
	if d.page.fresh(req.Params.IfNoneMatch) {
		return api.GetDocs304Response{Headers: api.GetDocs304ResponseHeaders{ETag: &d.page.etag, CacheControl: cacheControl()}}, nil
	}
	return api.GetDocs200TexthtmlResponse{
		Body: bytes.NewReader(d.page.body), ContentLength: int64(len(d.page.body)),
		Headers: api.GetDocs200ResponseHeaders{ETag: &d.page.etag, CacheControl: cacheControl()},
	}, nil
}

func cacheControl() *string {
	v := CacheControl
	return &v
}
