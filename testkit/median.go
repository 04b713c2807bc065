package testkit

import (
	"io"
	"net/http"
	"sort"
	"testing"
	"time"
)

// Median is the middle of the durations (the mean of the two middle ones for an even count): the
// timing tests compare medians, which one slow try cannot move.
func Median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Timed sends req with client, reads the answer in full and returns how long that took; an error
// or a status other than want fails the test (timing tests and benchmarks, bypassing Do's
// validation so that only the server is measured).
func Timed(t testing.TB, client *http.Client, req *http.Request, want int) time.Duration {
	t.Helper()
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	d := time.Since(start)
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d", req.Method, req.URL.Path, res.StatusCode, want)
	}
	return d
}
