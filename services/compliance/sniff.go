package compliance

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/filetype"
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

// checkDocument returns the MIME type of a document it accepts, named from its first bytes
// (filetype.Sniff; a PDF, a JPEG or a PNG, nothing else): a PDF must end with its %%EOF
// marker (a truncated upload is refused); an image must decode completely within the pixel
// bounds. Full decodes run under the service's semaphore.
func (s *Compliance) checkDocument(ctx context.Context, b []byte) (string, error) {
	mime := filetype.Sniff(b)
	switch mime {
	case filetype.PDF:
		tail := b
		if len(tail) > 1024 {
			tail = tail[len(tail)-1024:]
		}
		if !bytes.Contains(tail, []byte("%%EOF")) {
			return "", errDocInvalid
		}
		return mime, nil
	case filetype.JPEG, filetype.PNG: // decoded below
	default:
		return "", errDocType
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
	if mime == filetype.JPEG {
		_, err = jpeg.Decode(bytes.NewReader(b))
	} else {
		_, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return "", errDocInvalid
	}
	return mime, nil
}
