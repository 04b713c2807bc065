// Package bench holds the benchmarks `make bench` runs against the real server (testkit: real
// HTTP, PostgreSQL and Redis) with production parameters.
package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// phase is how long each measurement runs (FLOWXI_BENCH_PHASE, e.g. 10s).
func phase() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("FLOWXI_BENCH_PHASE")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// clients is the number of concurrent clients (FLOWXI_BENCH_CLIENTS; default 2×GOMAXPROCS so
// the server's NumCPU hashing semaphore always has work queued).
func clients() int {
	if n, err := strconv.Atoi(os.Getenv("FLOWXI_BENCH_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// BenchmarkLogin measures, in one run and with the same concurrency: raw argon2id
// verifications/s (production parameters, no HTTP, no database), password logins/s over HTTP
// (each one verifies, revokes the device's previous token and issues a new one), and
// authenticated GET /api/v1/auth/devices requests/s with p50/p99 latency. Login throughput
// should be bound by hashing: logins/s ÷ verifications/s ≥ 0.8. Each phase runs for a fixed
// time whatever b.N is (run it with -benchtime 1x).
func BenchmarkLogin(b *testing.B) {
	n, dur := clients(), phase()
	env := testkit.New(b, func(c *config.Config) {
		c.Argon2MemoryKiB, c.Argon2Time = password.Default.MemoryKiB, password.Default.Time
		c.LoginRatePerEmailIP, c.LoginRatePerIP = 1<<30, 1<<30 // measure hashing, not the limiter
	})
	users := make([]testkit.User, n)
	for i := range users {
		users[i] = env.CreateUser(testkit.WithoutToken())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}

	// Raw hashing and logins alternate in short slices and are summed per kind, so changes in
	// the (shared) machine's load during the run hit both sides alike.
	const rounds = 4
	// The reference is raw hashing with the clients' concurrency (as asked) and, for a stricter
	// ratio, with the server's own bound (NumCPU at once): the faster of the two counts.
	cpus := runtime.NumCPU()
	var rawN, rawCPU, logins, devices meter
	tokens := make([]string, n)
	for r := 0; r < rounds; r++ {
		rawN.add(rawVerifications(n, dur/rounds))
		rawCPU.add(rawVerifications(cpus, dur/rounds))
		logins.add(run(n, dur/rounds, func(i int) (time.Duration, bool) {
			start := time.Now()
			tok, ok := login(client, env.URL, users[i], "bench-device-"+strconv.Itoa(i))
			if ok {
				tokens[i] = tok
			}
			return time.Since(start), ok
		}))
	}
	for i, tok := range tokens {
		if tok == "" {
			b.Fatalf("client %d never logged in", i)
		}
	}
	devices.add(run(n, dur, func(i int) (time.Duration, bool) {
		start := time.Now()
		ok := listDevices(client, env.URL, tokens[i])
		return time.Since(start), ok
	}))
	if logins.failed > 0 || devices.failed > 0 {
		b.Fatalf("failed requests: %d logins, %d devices", logins.failed, devices.failed)
	}

	raw := max(rawN.rate(), rawCPU.rate())
	ratio := logins.rate() / raw
	lp50, lp99 := logins.percentiles()
	dp50, dp99 := devices.percentiles()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(raw, "argon2id/s")
	b.ReportMetric(logins.rate(), "logins/s")
	b.ReportMetric(ratio, "login/argon2id")
	b.ReportMetric(devices.rate(), "devices-req/s")
	b.ReportMetric(ms(dp50), "devices-p50-ms")
	b.ReportMetric(ms(dp99), "devices-p99-ms")
	verdict := "ok"
	if ratio < 0.8 {
		verdict = "BELOW TARGET 0.8"
	}
	fmt.Printf("\nlogin bench (%d clients, argon2id m=%dKiB t=%d p=1, GOMAXPROCS=%d, %d interleaved rounds):\n"+
		"  argon2id verifications/s   %.1f (%d goroutines: %d in %.1fs = %.1f/s; %d goroutines: %d in %.1fs = %.1f/s)\n"+
		"  logins/s over HTTP         %.1f (%d in %.1fs; p50 %.1f ms, p99 %.1f ms)\n"+
		"  ratio logins/verifications %.2f (%s)\n"+
		"  GET /auth/devices          %.0f req/s (%d in %.1fs; p50 %.2f ms, p99 %.2f ms)\n\n",
		n, password.Default.MemoryKiB, password.Default.Time, runtime.GOMAXPROCS(0), rounds,
		raw, n, rawN.count, rawN.elapsed.Seconds(), rawN.rate(), cpus, rawCPU.count, rawCPU.elapsed.Seconds(), rawCPU.rate(),
		logins.rate(), logins.count, logins.elapsed.Seconds(), ms(lp50), ms(lp99), ratio, verdict,
		devices.rate(), devices.count, devices.elapsed.Seconds(), ms(dp50), ms(dp99))
}

// meter sums operations, time and latencies over several slices.
type meter struct {
	count, failed int
	elapsed       time.Duration
	lat           []time.Duration
}

func (m *meter) add(o meter) {
	m.count += o.count
	m.failed += o.failed
	m.elapsed += o.elapsed
	m.lat = append(m.lat, o.lat...)
}

func (m *meter) rate() float64 { return float64(m.count) / m.elapsed.Seconds() }

func (m *meter) percentiles() (p50, p99 time.Duration) {
	if len(m.lat) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), m.lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

// rawVerifications runs n goroutines computing argon2id keys with the production parameters
// (what Verify costs, without the HTTP, database and semaphore around it) for d.
func rawVerifications(n int, d time.Duration) meter {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	p := password.Default
	var count atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				argon2.IDKey([]byte("Corr3ct-Horse-Battery"), salt, p.Time, p.MemoryKiB, p.Threads, 32)
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return meter{count: int(count.Load()), elapsed: time.Since(start)}
}

// run calls op from n goroutines (op gets the goroutine's index) until d has passed.
func run(n int, d time.Duration, op func(i int) (time.Duration, bool)) meter {
	var mu sync.Mutex
	var m meter
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				l, ok := op(i)
				if !ok {
					bad++
					continue
				}
				mine = append(mine, l)
			}
			mu.Lock()
			m.lat, m.failed = append(m.lat, mine...), m.failed+bad
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	m.elapsed, m.count = time.Since(start), len(m.lat)
	return m
}

func login(c *http.Client, base string, u testkit.User, device string) (string, bool) {
	body, _ := json.Marshal(map[string]string{"email": u.Email, "password": u.Password, "device_id": device, "device_type": "web", "device_name": "bench"})
	res, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	defer res.Body.Close()
	var out struct {
		Code string `json:"code"`
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil || out.Code != "LOGIN_SUCCESS" {
		return "", false
	}
	return out.Data.AccessToken, true
}

func listDevices(c *http.Client, base, token string) bool {
	req, _ := http.NewRequest("GET", base+"/api/v1/auth/devices", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == 200
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
