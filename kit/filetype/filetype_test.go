package filetype

import "testing"

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		"%PDF-1.7\n":                      PDF,
		"\xFF\xD8\xFF\xE0":                JPEG,
		"\x89PNG\r\n\x1a\n\x00":           PNG,
		"RIFF\x10\x00\x00\x00WEBPVP8 ":    WebP,
		"RIFF\x10\x00\x00\x00WAVE":        "",
		"\x7fELF\x02\x01":                 "",
		"<!DOCTYPE html><title>x</title>": "",
		" %PDF-1.7":                       "",
		"\xFF\xD8":                        "",
		"":                                "",
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}
