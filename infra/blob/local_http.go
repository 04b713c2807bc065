package blob

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/flowxi/backend/kit/apierr"
)

// ServeSigned answers GET <LocalRoute><key>?expires=…&signature=… with the object's bytes.
// The signature is checked in constant time, under any key of the HMAC ring (a URL signed
// before a key rotation stays valid until it expires, while its key is in the ring), and before the key touches the file system; an
// invalid, tampered or expired URL is 403 FORBIDDEN, a missing object 404 NOT_FOUND. The body
// is sent with the stored content type, nosniff and a sandboxing CSP, so even a hostile file
// cannot run as a page of this origin.
func (l *Local) ServeSigned(w http.ResponseWriter, r *http.Request, key string) error {
	q := r.URL.Query()
	exp, sig := q.Get("expires"), q.Get("signature")
	expUnix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !ValidKey(key) {
		return apierr.ErrForbidden
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !l.signer.VerifyMAC(macPurpose, signedValue(key, exp), got) {
		return apierr.ErrForbidden
	}
	if l.clock.Now().Unix() > expUnix {
		return apierr.ErrForbidden
	}
	body, obj, err := l.Get(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		return apierr.ErrNotFound
	}
	if err != nil {
		return err
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", obj.ContentType)
	h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", "inline")
	w.WriteHeader(http.StatusOK)
	// Once the header is out there is nothing left to report: a copy error means the client left.
	_, _ = io.Copy(w, body)
	return nil
}
