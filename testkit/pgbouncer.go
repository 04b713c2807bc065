package testkit

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PgBouncerIgnored are the startup parameters PgBouncer must be told to ignore
// (ignore_startup_parameters): the posting pool's session settings (pg.KeyedAccess), which
// PgBouncer would otherwise refuse a connection for. Through it they are not applied; the
// posting statements are then planned per execution (correct, a little slower).
const PgBouncerIgnored = "plan_cache_mode,enable_seqscan,enable_hashjoin,enable_mergejoin"

// PgBouncerMode is what DATABASE_URL must carry through PgBouncer 1.18 in transaction pooling
// (Debian's package), which does not track protocol-level prepared statements: pgx then uses
// unnamed statements and caches only their descriptions.
const PgBouncerMode = "default_query_exec_mode=cache_describe"

// StartPgBouncer runs Debian's PgBouncer in transaction pooling mode in front of the server of
// upstream (a postgres:// URL), with a few server connections so that clients really share
// them, and returns upstream's URL rewritten to go through it in the documented mode. It runs as
// the postgres OS user when the tests run as root (PgBouncer refuses root) and stops when the
// test ends.
func StartPgBouncer(t testing.TB, upstream string) string {
	t.Helper()
	bin := NeedTool(t, "pgbouncer")
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(u.Host)
	listen := FreeAddr(t)
	lhost, lport, _ := net.SplitHostPort(listen)
	ini := strings.Join([]string{
		"[databases]", fmt.Sprintf("* = host=%s port=%s", host, port),
		"[pgbouncer]", "listen_addr = " + lhost, "listen_port = " + lport, "unix_socket_dir =",
		"auth_type = trust", "auth_file = " + filepath.Join(dir, "users.txt"),
		"pool_mode = transaction", "default_pool_size = 4", "max_client_conn = 500",
		"ignore_startup_parameters = " + PgBouncerIgnored,
	}, "\n") + "\n"
	for name, body := range map[string]string{"pgbouncer.ini": ini, "users.txt": fmt.Sprintf("%q \"\"\n", u.User.Username())} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres"}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	runListening(t, cmd, listen)
	u.Host = listen
	q := u.Query()
	k, v, _ := strings.Cut(PgBouncerMode, "=")
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
