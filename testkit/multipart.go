package testkit

import (
	"bytes"
	"maps"
	"mime/multipart"
	"net/textproto"
	"slices"
	"testing"
)

// File is one file part of a multipart/form-data body: its field, the file name, the declared
// Content-Type (no header when empty) and the bytes.
type File struct {
	Field, Name, Type string
	Data              []byte
}

// Multipart builds a multipart/form-data body: the text fields first (by name), then the files
// in order. It returns the body and its Content-Type.
func Multipart(t testing.TB, fields map[string]string, files ...File) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := w.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.Field+`"; filename="`+f.Name+`"`)
		if f.Type != "" {
			h.Set("Content-Type", f.Type)
		}
		p, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}
