package testkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowxi/backend/config"
)

// Process is a real `flowxi serve` process, for tests that need several instances or a crash.
type Process struct {
	URL string
	// MetricsURL is the operations listener (METRICS_ADDR) the process was given.
	MetricsURL string
	cmd        *exec.Cmd
	done       chan struct{}
	out        *LogBuffer
}

// Output returns everything the process has logged so far (stdout and stderr).
func (p *Process) Output() string {
	return p.out.String()
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds ./cmd/flowxi once per test binary and returns its path.
func Binary(t testing.TB) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flowxi-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "flowxi")
		root, err := moduleRoot()
		if err != nil {
			binErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/flowxi")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("testkit: %v", binErr)
	}
	return binPath
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found")
		}
		dir = parent
	}
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ProcessEnv is the environment a process gets for cfg.
func ProcessEnv(cfg config.Config) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"FLOWXI_ENV=" + cfg.Env,
		"DATABASE_URL=" + cfg.DatabaseURL,
		"REDIS_URL=" + cfg.RedisURL,
		"REDIS_PREFIX=" + cfg.RedisPrefix,
		"FLOWXI_ENCRYPTION_KEY=" + cfg.EncryptionKey,
		"FLOWXI_HMAC_KEY=" + cfg.HMACKey,
		"FLOWXI_ENCRYPTION_KEYS=" + cfg.EncryptionKeys,
		"FLOWXI_HMAC_KEYS=" + cfg.HMACKeys,
		"HTTP_ADDR=" + cfg.HTTPAddr,
		"METRICS_ADDR=" + cfg.MetricsAddr,
		"FRONTEND_URL=" + cfg.FrontendURL,
		"FLOWXI_DATA_DIR=" + cfg.DataDir,
		"LOG_LEVEL=" + cfg.LogLevel,
		"SMTP_URL=" + cfg.SMTPURL,
		"MAIL_FROM=" + cfg.MailFrom,
		"JOBS_POLL_INTERVAL=" + cfg.JobsPollInterval.String(),
		"JOBS_RESCUE_AFTER=" + cfg.JobsRescueAfter.String(),
		"ARGON2_MEMORY_KIB=" + strconv.FormatUint(uint64(cfg.Argon2MemoryKiB), 10),
		"ARGON2_TIME=" + strconv.FormatUint(uint64(cfg.Argon2Time), 10),
	}
	if cfg.SkipMigrations {
		env = append(env, "SKIP_MIGRATIONS=1")
	}
	if cfg.StorageDriver == "s3" {
		env = append(env, "STORAGE_DRIVER=s3", "S3_ENDPOINT="+cfg.S3Endpoint, "S3_REGION="+cfg.S3Region, "S3_BUCKET="+cfg.S3Bucket,
			"S3_ACCESS_KEY="+cfg.S3AccessKey, "S3_SECRET_KEY="+cfg.S3SecretKey, "S3_PATH_STYLE="+strconv.FormatBool(cfg.S3PathStyle))
	}
	return env
}

// StartProcess runs `flowxi serve` with cfg (HTTP_ADDR is replaced by a free port) and waits
// until /api/v1/health answers. The process is killed at the end of the test.
func StartProcess(t testing.TB, cfg config.Config, extraEnv ...string) *Process {
	t.Helper()
	cfg.HTTPAddr = FreeAddr(t)
	cfg.MetricsAddr = FreeAddr(t)
	cmd := exec.Command(Binary(t), "serve")
	cmd.Env = append(ProcessEnv(cfg), extraEnv...)
	out := &LogBuffer{}
	var w io.Writer = out
	if os.Getenv("FLOWXI_TEST_LOG") != "" {
		w = io.MultiWriter(out, os.Stderr)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{URL: "http://" + cfg.HTTPAddr, MetricsURL: "http://" + cfg.MetricsAddr, cmd: cmd, done: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		res, err := http.Get(p.URL + "/api/v1/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("flowxi process exited before serving:\n%s", p.Output())
		case <-ctx.Done():
			t.Fatalf("flowxi process not healthy in time")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill stops the process at once (SIGKILL), like a crash.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// Stop asks for a graceful shutdown (SIGTERM) and waits.
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}

// Client returns an Env-like handle whose Do sends requests to this process (responses are
// validated against the spec like any other).
func (p *Process) Client(t testing.TB) *Env { return &Env{T: t, URL: p.URL} }
