package profile

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// exifTIFF is TIFF-structured EXIF data whose IFD0 holds one Orientation entry.
func exifTIFF(bo binary.ByteOrder, o uint16) []byte {
	b := make([]byte, 26)
	if bo == binary.LittleEndian {
		copy(b, "II")
	} else {
		copy(b, "MM")
	}
	bo.PutUint16(b[2:], 42)
	bo.PutUint32(b[4:], 8) // IFD0 right after the header
	bo.PutUint16(b[8:], 1) // one entry
	bo.PutUint16(b[10:], 0x0112)
	bo.PutUint16(b[12:], 3) // SHORT
	bo.PutUint32(b[14:], 1)
	bo.PutUint16(b[18:], o)
	return b // next-IFD offset (0) already there
}

// grid is a 3×2 image whose pixels are told apart by their red value: a b c / d e f.
func grid() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i, v := range []uint8{'a', 'b', 'c', 'd', 'e', 'f'} {
		img.Set(i%3, i/3, color.RGBA{v, 0, 0, 255})
	}
	return img
}

func letters(img image.Image) string {
	var s []byte
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		if y > b.Min.Y {
			s = append(s, '/')
		}
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			s = append(s, byte(r>>8))
		}
	}
	return string(s)
}

// Each EXIF orientation, written out by hand as the picture a viewer shows.
func TestOrientTurnsAsExifSays(t *testing.T) {
	want := map[int]string{
		1: "abc/def",
		2: "cba/fed",  // mirrored
		3: "fed/cba",  // upside down
		4: "def/abc",  // mirrored upside down
		5: "ad/be/cf", // transposed
		6: "da/eb/fc", // a quarter turn clockwise
		7: "fc/eb/da", // transversed
		8: "cf/be/ad", // a quarter turn counter-clockwise
		0: "abc/def",  // out of range: left alone
		9: "abc/def",
	}
	for o, w := range want {
		if got := letters(orient(grid(), o)); got != w {
			t.Errorf("orientation %d: %s, want %s", o, got, w)
		}
	}
}

func TestOrientationIsReadFromEachFormat(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
		tiff := exifTIFF(bo, 6)
		jpg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 'J', 'F'}, 0xFF, 0xE1, 0, byte(2+6+len(tiff)))
		jpg = append(append(append(jpg, "Exif\x00\x00"...), tiff...), 0xFF, 0xDA)
		if o := orientation(jpg, "jpeg"); o != 6 {
			t.Errorf("%v jpeg: %d", bo, o)
		}
		var p bytes.Buffer
		if err := png.Encode(&p, grid()); err != nil {
			t.Fatal(err)
		}
		pb := p.Bytes()
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiff)))
		chunk = append(append(chunk, "eXIf"...), tiff...)
		chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
		withExif := append(append(append([]byte{}, pb[:33]...), chunk...), pb[33:]...) // after IHDR
		if o := orientation(withExif, "png"); o != 6 {
			t.Errorf("%v png: %d", bo, o)
		}
		if o := orientation(pb, "png"); o != 1 {
			t.Errorf("png without eXIf: %d", o)
		}
		webp := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8X"), binary.LittleEndian.AppendUint32(nil, 10)...)
		webp = append(webp, make([]byte, 10)...)
		webp = append(append(webp, "EXIF"...), binary.LittleEndian.AppendUint32(nil, uint32(6+len(tiff)))...)
		webp = append(append(webp, "Exif\x00\x00"...), tiff...)
		if o := orientation(webp, "webp"); o != 6 {
			t.Errorf("%v webp: %d", bo, o)
		}
	}
	// Damaged or hostile metadata only loses the turn.
	for _, b := range [][]byte{
		{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'},                                                  // a segment longer than the file
		append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 16}, "Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff"...), // IFD beyond the data
		{0xFF, 0xD8},
	} {
		if o := orientation(b, "jpeg"); o != 1 {
			t.Errorf("%x: %d", b, o)
		}
	}
}

// FuzzOrientation: any bytes, any format — never a panic, always 1–8.
func FuzzOrientation(f *testing.F) {
	tiff := exifTIFF(binary.BigEndian, 8)
	f.Add(append(append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, byte(2 + 6 + len(tiff))}, "Exif\x00\x00"...), tiff...))
	f.Add(append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x1aeXIf"), tiff...))
	f.Add(append([]byte("RIFF\x00\x00\x00\x00WEBPEXIF\x1a\x00\x00\x00"), tiff...))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kind := range []string{"jpeg", "png", "webp"} {
			if o := orientation(b, kind); o < 1 || o > 8 {
				t.Fatalf("%s: orientation %d", kind, o)
			}
		}
	})
}
