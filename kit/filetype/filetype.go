// Package filetype names an uploaded file's type from its first bytes (its magic number), the
// one way every upload tells a PDF from an image: a file's name and its part's Content-Type are
// never trusted, so an ELF binary or an HTML page named .pdf or .jpg is none of these.
package filetype

import "bytes"

// The MIME types Sniff names.
const (
	PDF  = "application/pdf"
	JPEG = "image/jpeg"
	PNG  = "image/png"
	WebP = "image/webp"
)

var (
	magicPDF  = []byte("%PDF-")
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
	magicPNG  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
)

// Sniff returns the MIME type b starts as: PDF, JPEG, PNG or WebP (a RIFF container of type
// WEBP), or "" for anything else. Each caller accepts its own subset.
func Sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, magicPDF):
		return PDF
	case bytes.HasPrefix(b, magicJPEG):
		return JPEG
	case bytes.HasPrefix(b, magicPNG):
		return PNG
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP
	}
	return ""
}
