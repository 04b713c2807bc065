package profile

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	_ "image/png" // registers the PNG decoder
	"net/http"
	"strconv"

	_ "golang.org/x/image/webp" // registers the WebP decoder

	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/filetype"
)

// Photo limits (documented in openapi.yaml).
const (
	MaxPhotoBytes = 5 << 20
	MaxPhotoSide  = 4096
	jpegQuality   = 90
)

var (
	errPhotoTooLarge   = apierr.New(http.StatusRequestEntityTooLarge, "PHOTO_TOO_LARGE")
	errPhotoType       = apierr.New(http.StatusUnsupportedMediaType, "PHOTO_UNSUPPORTED_TYPE")
	errPhotoUnreadable = apierr.InvalidAs("PHOTO_INVALID", "photo", "image")
	errPhotoDimensions = apierr.InvalidAs("PHOTO_INVALID", "photo", "image_dimensions", strconv.Itoa(MaxPhotoSide))
)

// photoKinds are the image formats a photo may be, by the MIME type filetype.Sniff names from
// its first bytes (the file name and the part's Content-Type are never trusted), each as the
// image package names its format.
var photoKinds = map[string]string{filetype.JPEG: "jpeg", filetype.PNG: "png", filetype.WebP: "webp"}

// reencode checks and decodes a JPEG, PNG or WebP and writes it again as a JPEG. Dimensions
// are read from the header first, so a small file declaring a huge image (a decompression bomb)
// is refused before any pixel is allocated. Re-encoding drops every metadata block (EXIF with
// GPS position, XMP, comments) and anything appended to the file (polyglots); the EXIF
// orientation is applied to the pixels first (orientation.go), so the photo keeps its turn.
func reencode(b []byte) ([]byte, error) {
	kind := photoKinds[filetype.Sniff(b)]
	if kind == "" {
		return nil, errPhotoType
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || format != kind {
		return nil, errPhotoUnreadable
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxPhotoSide || cfg.Height > MaxPhotoSide {
		return nil, errPhotoDimensions
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || format != kind {
		return nil, errPhotoUnreadable
	}
	if sz := img.Bounds().Size(); sz.X != cfg.Width || sz.Y != cfg.Height {
		return nil, errPhotoUnreadable
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, orient(flatten(img), orientation(b, kind)), &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// flatten puts an image with transparency on white: JPEG has no alpha, and the encoder would
// otherwise turn transparent pixels black.
func flatten(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	draw.Draw(dst, b, img, b.Min, draw.Over)
	return dst
}
