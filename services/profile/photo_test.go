package profile_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/profile"
	"github.com/flowxi/backend/testkit"
)

var keyRe = regexp.MustCompile(`^profile_photos/user_\d+_[A-Za-z0-9]{20}\.jpg$`)

// fetch GETs a photo_url (testkit's Env.Fetch).
func fetch(t *testing.T, env *testkit.Env, url string) (int, http.Header, []byte) {
	t.Helper()
	r := env.Fetch(url)
	return r.Status, r.Header, r.Body
}

// drivers runs f against the local driver and a real MinIO server.
func drivers(t *testing.T, f func(t *testing.T, env *testkit.Env)) {
	t.Run("local", func(t *testing.T) { f(t, testkit.New(t)) })
	t.Run("s3", func(t *testing.T) {
		s3 := testkit.StartS3(t)
		f(t, testkit.New(t, func(c *config.Config) { s3.Configure(c) }))
	})
}

func TestUploadPhoto(t *testing.T) {
	drivers(t, func(t *testing.T, env *testkit.Env) {
		u := env.CreateUser()
		src := jpegWithGPS(t, 64, 48)
		r := upload(env, u.Token, testkit.File{Name: "me.jpg", Type: "image/jpeg", Data: src}, "fr")
		if r.Status != 200 || r.Code() != "ME_PHOTO_UPDATED" || r.Message() != "Photo de profil mise à jour." {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		key := dbPhotoKey(t, env, u.ID)
		if !keyRe.MatchString(key) || !strings.HasPrefix(key, "profile_photos/user_"+strconv.FormatInt(u.ID, 10)+"_") {
			t.Fatalf("key %q", key)
		}
		if keys := photoKeys(t, env, u.ID); len(keys) != 1 || keys[0] != key {
			t.Fatalf("objects %v, db %q", keys, key)
		}
		url := testkit.Decode[api.MePhotoResponse](t, r).Data.PhotoUrl
		status, h, body := fetch(t, env, url)
		if status != 200 || h.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("fetch %d %v", status, h)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
		if err != nil || cfg.Width != 64 || cfg.Height != 48 {
			t.Fatalf("stored image %v %+v", err, cfg)
		}
		if bytes.Contains(body, []byte("Exif")) || bytes.Contains(body, []byte("GPSLatitude")) {
			t.Fatal("EXIF/GPS kept")
		}
		// GET builds a new signed URL for the same key.
		me := testkit.DataOf[api.Profile](t, env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token}))
		if s := ptr.Value(me.PhotoUrl); !strings.Contains(s, key) {
			t.Fatalf("photo_url %v", s)
		}
		// A second upload replaces the first: one object, the new key.
		r = upload(env, u.Token, testkit.File{Name: "x.png", Data: pngImage(t, 30, 20)}, "en")
		if r.Status != 200 || r.Message() != "Profile photo updated." {
			t.Fatalf("second: %d %s", r.Status, r.Body)
		}
		key2 := dbPhotoKey(t, env, u.ID)
		if keys := photoKeys(t, env, u.ID); key2 == key || len(keys) != 1 || keys[0] != key2 {
			t.Fatalf("objects %v, db %q (was %q)", keys, key2, key)
		}
		if status, _, _ := fetch(t, env, url); status == 200 {
			t.Fatal("the replaced photo is still served")
		}
		if got := auditActions(t, env, u.ID); len(got) != 2 || !strings.HasPrefix(got[0], "profile.photo.updated") {
			t.Fatalf("audit %v", got)
		}
	})
}

// Every refused upload has its code, and stores nothing: no object, no database change.
func TestUploadPhotoRefusals(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	if r := upload(env, u.Token, testkit.File{Name: "a.png", Data: pngImage(t, 8, 8)}, "fr"); r.Status != 200 {
		t.Fatalf("setup %d %s", r.Status, r.Body)
	}
	key := dbPhotoKey(t, env, u.ID)
	valid := jpegWithGPS(t, 64, 64)
	big := append(pngImage(t, 4, 4), bytes.Repeat([]byte{0}, profile.MaxPhotoBytes)...)
	cases := []struct {
		name   string
		f      testkit.File
		status int
		code   string
		fields []string
	}{
		{"over 5 MiB", testkit.File{Name: "big.png", Data: big}, 413, "PHOTO_TOO_LARGE", nil},
		{"html named .jpg", testkit.File{Name: "x.jpg", Type: "image/jpeg", Data: []byte("<html><script>alert(1)</script></html>")}, 415, "PHOTO_UNSUPPORTED_TYPE", nil},
		{"svg", testkit.File{Name: "x.png", Type: "image/png", Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)}, 415, "PHOTO_UNSUPPORTED_TYPE", nil},
		{"gif", testkit.File{Name: "x.gif", Data: []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")}, 415, "PHOTO_UNSUPPORTED_TYPE", nil},
		{"empty file", testkit.File{Name: "x.jpg", Data: []byte{}}, 415, "PHOTO_UNSUPPORTED_TYPE", nil},
		{"truncated jpeg", testkit.File{Name: "x.jpg", Data: valid[:len(valid)/2]}, 422, "PHOTO_INVALID", []string{"photo"}},
		{"jpeg magic then garbage", testkit.File{Name: "x.jpg", Data: append([]byte{0xFF, 0xD8, 0xFF}, []byte("<html>")...)}, 422, "PHOTO_INVALID", []string{"photo"}},
		{"decompression bomb 50000x50000", testkit.File{Name: "bomb.png", Data: pngBomb(50000, 50000)}, 422, "PHOTO_INVALID", []string{"photo"}},
		{"4097 wide", testkit.File{Name: "wide.png", Data: pngBomb(4097, 1)}, 422, "PHOTO_INVALID", []string{"photo"}},
		{"no photo part", testkit.File{Field: "avatar", Name: "a.png", Data: valid}, 400, "MALFORMED_REQUEST", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []string{"fr", "en"} {
				r := upload(env, u.Token, tc.f, lang)
				if r.Status != tc.status || r.Code() != tc.code {
					t.Fatalf("%s: got %d %s", lang, r.Status, r.Body)
				}
				for _, f := range tc.fields {
					if _, ok := r.Errors()[f]; !ok {
						t.Fatalf("no %s error: %s", f, r.Body)
					}
				}
				// Oversized dimensions are refused from the header, before any decoding.
				if strings.HasPrefix(tc.name, "decompression") && lang == "en" &&
					testkit.Decode[api.ValidationError](t, r).Errors["photo"][0] != "The photo may not be larger than 4096 × 4096 pixels." {
					t.Fatalf("message: %s", r.Body)
				}
				if dbPhotoKey(t, env, u.ID) != key {
					t.Fatal("photo_key changed")
				}
				if keys := photoKeys(t, env, u.ID); len(keys) != 1 || keys[0] != key {
					t.Fatalf("objects %v", keys)
				}
			}
		})
	}
	if got := auditActions(t, env, u.ID); len(got) != 1 {
		t.Fatalf("refusals were audited: %v", got)
	}
	// Without any part at all the schema reports the missing field.
	body, ctype := testkit.Multipart(t, nil)
	r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/me/photo", Raw: body, Type: ctype, Token: u.Token})
	if r.Status != 422 || r.Code() != "VALIDATION_FAILED" || r.Errors()["photo"] == nil {
		t.Fatalf("missing photo: %d %s", r.Status, r.Body)
	}
	// A body over the route's 6 MiB limit is refused before it is read.
	body, ctype = testkit.Multipart(t, nil, testkit.File{Field: "photo", Name: "huge.png", Data: make([]byte, 7<<20)})
	r = env.Do(testkit.Req{Method: "POST", Path: "/api/v1/me/photo", Raw: body, Type: ctype, Token: u.Token})
	if r.Status != 413 {
		t.Fatalf("7 MiB: %d %s", r.Status, r.Body)
	}
}

// Anything appended to a real image (an HTML/JS polyglot) is dropped by re-encoding.
func TestUploadPhotoPolyglotIsNeutralized(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	poly := append(pngImage(t, 16, 16), []byte("<html><script>alert(document.cookie)</script></html>")...)
	r := upload(env, u.Token, testkit.File{Name: "x.html", Type: "text/html", Data: poly}, "fr")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	status, h, body := fetch(t, env, testkit.Decode[api.MePhotoResponse](t, r).Data.PhotoUrl)
	if status != 200 || bytes.Contains(body, []byte("<script")) || h.Get("Content-Type") != "image/jpeg" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("%d %v", status, h)
	}
}

// Concurrent uploads by one user leave exactly one photo: the one in the database.
func TestUploadPhotoConcurrent(t *testing.T) {
	drivers(t, func(t *testing.T, env *testkit.Env) {
		u := env.CreateUser()
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := 0; i < n; i++ {
			body, ctype := testkit.Multipart(t, nil, testkit.File{Field: "photo", Name: "p.png", Data: pngImage(t, 10+i, 10)})
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				req, _ := http.NewRequest("POST", env.URL+"/api/v1/me/photo", bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("Authorization", "Bearer "+u.Token)
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					statuses[i] = res.StatusCode
					_ = res.Body.Close()
				}
			}(i)
		}
		wg.Wait()
		for i, s := range statuses {
			if s != 200 {
				t.Fatalf("upload %d: %d", i, s)
			}
		}
		key := dbPhotoKey(t, env, u.ID)
		if keys := photoKeys(t, env, u.ID); len(keys) != 1 || keys[0] != key {
			t.Fatalf("objects %v, db %q", keys, key)
		}
		if got := auditActions(t, env, u.ID); len(got) != n {
			t.Fatalf("%d audit events", len(got))
		}
	})
}

// photo_url works, expires with the clock, and any tampering is refused.
func TestPhotoURLSignature(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	upload(env, u.Token, testkit.File{Name: "a.png", Data: pngImage(t, 8, 8)}, "fr")
	url := ptr.Value(testkit.DataOf[api.Profile](t, env.Do(testkit.Req{Method: "GET", Path: "/api/v1/me", Token: u.Token})).PhotoUrl)
	if status, _, _ := fetch(t, env, url); status != 200 {
		t.Fatalf("fresh url: %d", status)
	}
	other := env.CreateUser()
	upload(env, other.Token, testkit.File{Name: "b.png", Data: pngImage(t, 9, 9)}, "fr")
	otherKey := dbPhotoKey(t, env, other.ID)
	key := dbPhotoKey(t, env, u.ID)
	sig := url[strings.Index(url, "signature=")+len("signature="):]
	flipped := "0"
	if sig[0] == '0' {
		flipped = "1"
	}
	tampered := map[string]string{
		"other key":         strings.Replace(url, key, otherKey, 1),
		"later expiry":      regexp.MustCompile(`expires=\d+`).ReplaceAllStringFunc(url, func(s string) string { return s + "0" }),
		"flipped sig":       strings.Replace(url, "signature="+sig, "signature="+flipped+sig[1:], 1),
		"no sig":            url[:strings.Index(url, "&signature=")],
		"traversal":         strings.Replace(url, key, "profile_photos/../../hmac.key", 1),
		"encoded traversal": strings.Replace(url, key, "profile_photos/%2e%2e/%2e%2e/hmac.key", 1),
	}
	for name, tu := range tampered {
		status, _, body := fetch(t, env, tu)
		if status != 403 && status != 404 {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	env.Clock.Advance(profile.PhotoURLTTL + time.Minute)
	status, _, body := fetch(t, env, url)
	if status != 403 || !strings.Contains(string(body), `"FORBIDDEN"`) {
		t.Fatalf("expired url: %d %s", status, body)
	}
}

// A phone's portrait: the sensor's pixels lie on their side and EXIF says to turn them a quarter
// clockwise. The stored photo is upright, without the EXIF block.
func TestUploadPhotoAppliesExifOrientation(t *testing.T) {
	env := testkit.New(t)
	u := env.CreateUser()
	// 64×32 as stored by the sensor: left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := color.RGBA{220, 0, 0, 255}
			if x >= 32 {
				c = color.RGBA{0, 0, 220, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	seg := append([]byte{0xFF, 0xE1, 0, byte(2 + 6 + len(tiff))}, "Exif\x00\x00"...)
	src := append(append(append([]byte{0xFF, 0xD8}, seg...), tiff...), buf.Bytes()[2:]...)

	r := upload(env, u.Token, testkit.File{Name: "portrait.jpg", Data: src}, "en")
	if r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	status, _, body := fetch(t, env, testkit.Decode[api.MePhotoResponse](t, r).Data.PhotoUrl)
	if status != 200 || bytes.Contains(body, []byte("Exif")) {
		t.Fatalf("fetch %d, EXIF kept: %v", status, bytes.Contains(body, []byte("Exif")))
	}
	got, err := jpeg.Decode(bytes.NewReader(body))
	if err != nil || got.Bounds().Dx() != 32 || got.Bounds().Dy() != 64 {
		t.Fatalf("stored %v %v, want 32×64", err, got.Bounds())
	}
	// Turned clockwise, the left (red) half is now on top.
	for _, p := range []struct {
		x, y     int
		red, blu bool
	}{{16, 12, true, false}, {16, 52, false, true}} {
		r, _, b, _ := got.At(p.x, p.y).RGBA()
		if (r>>8 > 150) != p.red || (b>>8 > 150) != p.blu {
			t.Fatalf("pixel (%d,%d) = r%d b%d", p.x, p.y, r>>8, b>>8)
		}
	}
}
