package testkit

import (
	"runtime"
	"testing"

	"github.com/flowxi/backend/gen/api"
)

// fatalRecorder stands in for the test a helper runs under: Fatalf records the failure and
// stops the goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(string, ...any) { f.failed = true; runtime.Goexit() }

// fails runs read under a recorder and says whether it failed the test.
func fails(t *testing.T, read func(testing.TB)) bool {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); read(rec) }()
	<-done
	return rec.failed
}

func TestDecodeFailsTheTestOnABodyThatIsNotT(t *testing.T) {
	verify := func(tb testing.TB, r *Resp) { Decode[api.OtpVerifyResponse](tb, r) }
	data := func(tb testing.TB, r *Resp) { DataOf[api.LoginTokenData](tb, r) }
	cases := []struct {
		name string
		body string
		read func(testing.TB, *Resp)
		fail bool
	}{
		{"typed fields", `{"code":"OTP_VALID","message":"ok","valid":true}`, verify, false},
		{"fields T does not declare", `{"code":"OTP_VALID","valid":true,"request_id":"r"}`, verify, false},
		{"field of the wrong type", `{"code":"OTP_VALID","valid":"yes"}`, verify, true},
		{"not JSON", `<html>`, verify, true},
		{"no body", ``, verify, true},
		{"data envelope", `{"code":"LOGIN_SUCCESS","data":{"access_token":"1|x","user_id":7}}`, data, false},
		{"no data", `{"code":"LOGIN_SUCCESS"}`, data, true},
		{"null data", `{"code":"LOGIN_SUCCESS","data":null}`, data, true},
		{"data of the wrong type", `{"code":"LOGIN_SUCCESS","data":{"user_id":"7"}}`, data, true},
	}
	for _, tc := range cases {
		r := &Resp{Status: 200, Body: []byte(tc.body)}
		if got := fails(t, func(tb testing.TB) { tc.read(tb, r) }); got != tc.fail {
			t.Errorf("%s: failed %v, want %v", tc.name, got, tc.fail)
		}
	}
	if d := DataOf[api.LoginTokenData](t, &Resp{Body: []byte(`{"data":{"access_token":"1|x","user_id":7}}`)}); d.AccessToken != "1|x" || d.UserId != 7 {
		t.Fatalf("data %+v", d)
	}
}

func TestIsComparesAnOptionalField(t *testing.T) {
	v := "x"
	if !Is(&v, "x") || Is(&v, "y") || Is(nil, "x") || Is[int64](nil, 0) {
		t.Fatal("Is: a set field equals its value only; a nil one equals nothing, not even the zero value")
	}
}
