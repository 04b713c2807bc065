package testkit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/flowxi/backend/config"
)

// S3Server is a real S3-compatible server (MinIO) started by a test, with one fresh bucket.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:<port>
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
}

// MinIOBinary is the MinIO server built by `scripts/services.sh tools` (`make test` passes its
// path in FLOWXI_MINIO_BIN).
func MinIOBinary() string { return os.Getenv("FLOWXI_MINIO_BIN") }

// StartS3 starts MinIO on a free port over a temporary directory and creates a bucket; the
// server stops when t ends. A server that cannot start fails the test: nothing is skipped.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := MinIOBinary()
	if bin == "" {
		t.Fatal("testkit: FLOWXI_MINIO_BIN is not set: run the suite with `make test` (scripts/services.sh tools builds MinIO)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testkit: MinIO binary: %v (run scripts/services.sh tools)", err)
	}
	s := &S3Server{Region: "us-east-1", Bucket: "flowxi-test", AccessKey: "flowxi-" + RandomHex(4), SecretKey: RandomHex(16)}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = s.start(t, bin); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("testkit: MinIO did not start: %v", lastErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("testkit: MinIO bucket: %v", err)
	}
	return s
}

// start runs one MinIO process on a port that was free a moment ago and waits until it is live.
func (s *S3Server) start(t testing.TB, bin string) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_REGION="+s.Region)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); _ = logf.Close() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	s.Endpoint = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			b, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("minio exited (%v): %s", err, tail(string(b)))
		default:
		}
		if res, err := http.Get(s.Endpoint + "/minio/health/live"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	b, _ := os.ReadFile(logf.Name())
	return fmt.Errorf("minio not live after 60 s: %s", tail(string(b)))
}

// Client is a MinIO client with the server's root credentials (tests inspect the bucket with it).
func (s *S3Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Configure points a server configuration at this S3 server.
func (s *S3Server) Configure(c *config.Config) {
	c.StorageDriver = "s3"
	c.S3Endpoint, c.S3Region, c.S3Bucket = s.Endpoint, s.Region, s.Bucket
	c.S3AccessKey, c.S3SecretKey, c.S3PathStyle = s.AccessKey, s.SecretKey, true
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
