package profile_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strconv"
	"testing"

	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// upload posts data as the `photo` part.
func upload(env *testkit.Env, token string, f testkit.File, lang string) *testkit.Resp {
	env.T.Helper()
	if f.Field == "" {
		f.Field = "photo"
	}
	body, ctype := testkit.Multipart(env.T, nil, f)
	return env.Do(testkit.Req{Method: "POST", Path: "/api/v1/me/photo", Raw: body, Type: ctype, Token: token,
		Headers: map[string]string{"X-App-Locale": lang}})
}

// pngImage is a w×h PNG with a gradient and a transparent corner.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	img.Set(0, 0, color.NRGBA{0, 0, 0, 0})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegWithGPS is a JPEG carrying an EXIF APP1 segment with a GPS marker right after SOI.
func jpegWithGPS(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00"), []byte("GPSLatitude=48.858370;GPSLongitude=2.294481")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

// pngBomb is a tiny, well-formed PNG header declaring w×h pixels (a decompression bomb).
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// photoKeys lists the photo objects of a user in storage.
func photoKeys(t testing.TB, env *testkit.Env, userID int64) []string {
	t.Helper()
	keys, err := env.Storage().List(context.Background(), "profile_photos/user_"+strconv.FormatInt(userID, 10)+"_")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// dbPhotoKey is the user's photo_key column ("" when NULL).
func dbPhotoKey(t testing.TB, env *testkit.Env, userID int64) string {
	t.Helper()
	u, err := env.Store().Q.GetUserByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	if u.PhotoKey == nil {
		return ""
	}
	return *u.PhotoKey
}

// auditActions lists a user's audit actions and details, oldest first.
func auditActions(t testing.TB, env *testkit.Env, userID int64) []string {
	t.Helper()
	return env.Strings(`SELECT action || ' ' || details::text FROM audit_events WHERE user_id = $1 ORDER BY id`, userID)
}
