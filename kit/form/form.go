// Package form reads multipart/form-data request bodies, the one way every upload does.
package form

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/flowxi/backend/kit/apierr"
)

// Read returns the parts named in limits, in any order, each read up to limits[name]+1 bytes so
// that the caller can tell a part over its own limit apart (len > limit). The first part of a
// name wins and reading stops once every name has been seen; other parts are skipped. A body
// over the route's size limit (http.MaxBytesError) is tooLarge; any other read failure is
// MALFORMED. A missing part is simply absent from the result: what is required, and the error
// naming it, is the caller's rule.
func Read(r *multipart.Reader, limits map[string]int64, tooLarge error) (map[string][]byte, error) {
	parts := make(map[string][]byte, len(limits))
	for r != nil && len(parts) < len(limits) {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readErr(err, tooLarge)
		}
		limit, wanted := limits[part.FormName()]
		if _, seen := parts[part.FormName()]; !wanted || seen {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return nil, readErr(err, tooLarge)
		}
		parts[part.FormName()] = b
	}
	return parts, nil
}

func readErr(err, tooLarge error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	return apierr.ErrMalformed.Wrap(err)
}
