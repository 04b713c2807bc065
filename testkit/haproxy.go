package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BalancerSource is the address HAProxy connects to the instances from: an instance sees it as
// the socket peer, so TRUSTED_PROXIES=BalancerSource is what makes it honour the
// X-Forwarded-For the balancer adds — and nothing else, clients being on 127.0.0.1.
const BalancerSource = "127.0.0.2"

var toolsOnce sync.Once

// NeedTool returns the path of a Debian tool the scale-out tests run (haproxy, pgbouncer),
// installing the test tools with scripts/services.sh tools (apt-get, as root) when it is missing.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	find := func() string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := "/usr/sbin/" + name; fileExists(p) {
			return p
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	toolsOnce.Do(func() {
		root, err := moduleRoot()
		if err == nil {
			cmd := exec.Command(filepath.Join(root, "scripts", "services.sh"), "tools")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			_ = cmd.Run()
		}
	})
	p := find()
	if p == "" {
		t.Fatalf("testkit: %s is not installed and scripts/services.sh tools could not install it (apt-get as root)", name)
	}
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// StartHAProxy runs Debian's HAProxy in front of backends (base URLs of instances), round-robin,
// adding X-Forwarded-For, and naming the instance that answered in X-Served-By (its index in
// backends). It returns the balancer's base URL; HAProxy stops when the test ends.
func StartHAProxy(t testing.TB, backends ...string) string {
	t.Helper()
	bin := NeedTool(t, "haproxy")
	addr := FreeAddr(t)
	var servers []string
	for i, b := range backends {
		servers = append(servers, fmt.Sprintf("  server s%d %s source %s", i, strings.TrimPrefix(b, "http://"), BalancerSource))
	}
	cfg := strings.Join(append([]string{
		"global", "  maxconn 2000",
		"defaults", "  mode http", "  timeout connect 2s", "  timeout client 60s", "  timeout server 60s",
		"frontend api", "  bind " + addr, "  option forwardfor", "  default_backend flowxi",
		"backend flowxi", "  balance roundrobin", "  http-response set-header X-Served-By %[srv_name]",
	}, servers...), "\n") + "\n"
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	runListening(t, exec.Command(bin, "-db", "-f", path), addr)
	return "http://" + addr
}

// runListening starts cmd (its output kept for the failure message), kills it when the test
// ends, and waits until it accepts connections on addr.
func runListening(t testing.TB, cmd *exec.Cmd, addr string) {
	t.Helper()
	out := &LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	waitListening(t, addr, done, out)
}

// waitListening waits until something accepts connections on addr (or the process exits).
func waitListening(t testing.TB, addr string, done chan struct{}, out *LogBuffer) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			t.Fatalf("testkit: process exited before listening on %s:\n%s", addr, out.String())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
	}
	t.Fatalf("testkit: nothing listening on %s:\n%s", addr, out.String())
}
