package compliance

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"github.com/flowxi/backend/kit/apierr"
)

// Document limits (documented in openapi.yaml).
const (
	MaxDocumentBytes = 10 << 20
	// maxPixels bounds a full decode (a small file can claim a huge canvas).
	maxPixels = 50_000_000
	maxSide   = 12_000
)

var (
	errDocTooLarge = apierr.New(http.StatusRequestEntityTooLarge, "DOCUMENT_TOO_LARGE")
	errDocType     = apierr.New(http.StatusUnsupportedMediaType, "DOCUMENT_UNSUPPORTED_TYPE")
	errDocInvalid  = apierr.InvalidAs("DOCUMENT_INVALID", "file", "document") // the rule on the `file` field
)

var (
	magicPDF  = []byte("%PDF-")
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
	magicPNG  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

// sniff names the document's type from its first bytes only: the file name and the part's
// Content-Type are never trusted, so an ELF binary or an HTML page named .pdf is refused.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, magicPDF):
		return "application/pdf"
	case bytes.HasPrefix(b, magicJPEG):
		return "image/jpeg"
	case bytes.HasPrefix(b, magicPNG):
		return "image/png"
	}
	return ""
}

// checkDocument returns the MIME type of a document it accepts: a PDF must end with its %%EOF
// marker (a truncated upload is refused); an image must decode completely within the pixel
// bounds. Full decodes run under the service's semaphore.
func (s *Compliance) checkDocument(ctx context.Context, b []byte) (string, error) {
	mime := sniff(b)
	switch mime {
	case "":
		return "", errDocType
	case "application/pdf":
		tail := b
		if len(tail) > 1024 {
			tail = tail[len(tail)-1024:]
		}
		if !bytes.Contains(tail, []byte("%%EOF")) {
			return "", errDocInvalid
		}
		return mime, nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || "image/"+format != mime || cfg.Width <= 0 || cfg.Height <= 0 ||
		cfg.Width > maxSide || cfg.Height > maxSide || cfg.Width*cfg.Height > maxPixels {
		return "", errDocInvalid
	}
	if err := s.decodes.Acquire(ctx); err != nil {
		return "", err
	}
	defer s.decodes.Release()
	if mime == "image/jpeg" {
		_, err = jpeg.Decode(bytes.NewReader(b))
	} else {
		_, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return "", errDocInvalid
	}
	return mime, nil
}
