// Package docs publishes the contract: GET /api/v1/openapi.yaml returns openapi.yaml byte for
// byte, and GET /docs the Redocly reference page generated from it. Both are fixed documents
// handed in by the caller (the binary embeds them at build time), so this package never reads
// the filesystem and always serves what the server was built against.
package docs

import (
	"bytes"
	"context"

	"github.com/flowxi/backend/gen/api"
)

// Docs implements the Docs operations of the generated strict interface.
type Docs struct{ spec, page []byte }

// New builds the service from the contract (YAML) and its rendered HTML page.
func New(spec, page []byte) *Docs { return &Docs{spec: spec, page: page} }

// GetOpenapiSpec returns the contract exactly as committed.
func (d *Docs) GetOpenapiSpec(context.Context, api.GetOpenapiSpecRequestObject) (api.GetOpenapiSpecResponseObject, error) {
	return api.GetOpenapiSpec200ApplicationyamlResponse{Body: bytes.NewReader(d.spec), ContentLength: int64(len(d.spec))}, nil
}

// GetDocs returns the reference page.
func (d *Docs) GetDocs(context.Context, api.GetDocsRequestObject) (api.GetDocsResponseObject, error) {
	return api.GetDocs200TexthtmlResponse{Body: bytes.NewReader(d.page), ContentLength: int64(len(d.page))}, nil
}
