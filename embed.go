// Package flowxi holds the repository-root files that the binary embeds: the OpenAPI contract
// and its rendered reference page. A //go:embed pattern cannot reach a parent directory, so the
// embedding has to live next to openapi.yaml; everything else about serving them lives in
// services/docs.
package flowxi

import _ "embed" // for //go:embed

// OpenAPISpec is openapi.yaml exactly as committed.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

// DocsHTML is docs/index.html, the Redocly reference page generated from openapi.yaml by
// `make generate`.
//
//go:embed docs/index.html
var DocsHTML []byte
