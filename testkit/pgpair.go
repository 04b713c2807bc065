package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGPair is a PostgreSQL primary with a synchronous streaming standby, started from the
// system's PostgreSQL binaries (Debian's postgresql package; run as the postgres OS user when
// the tests run as root, like scripts/services.sh): initdb, pg_basebackup, standby.signal.
// Commits on the primary wait for the standby (synchronous_commit=on,
// synchronous_standby_names='standby1'). The standby runs with no synchronous standby of its
// own, so once promoted it commits alone.
type PGPair struct {
	Primary, Standby *PGNode
	bin              string
	dir              string
}

// PGNode is one PostgreSQL server of a pair.
type PGNode struct {
	Port int
	Data string
	pair *PGPair
}

// pgUser is the superuser of the pair's clusters.
const pgUser = "flowxi"

// StartPGPair initialises the primary, takes the standby from it with pg_basebackup, starts
// both and waits until the standby is the primary's synchronous standby. Both are stopped (and
// their directories removed) when the test ends.
func StartPGPair(t testing.TB) *PGPair {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Skipf("testkit: %v", err)
	}
	dir, err := os.MkdirTemp("", "flowxi-pgpair-")
	if err != nil {
		t.Fatal(err)
	}
	p := &PGPair{bin: bin, dir: dir}
	t.Cleanup(p.stop)
	if err := p.chown(dir); err != nil {
		t.Fatal(err)
	}
	p.Primary = &PGNode{Port: freeClusterPort(), Data: filepath.Join(dir, "primary"), pair: p}
	p.Standby = &PGNode{Port: freeClusterPort(), Data: filepath.Join(dir, "standby"), pair: p}
	if err := p.initPrimary(); err != nil {
		t.Fatalf("testkit: primary: %v", err)
	}
	if err := p.initStandby(); err != nil {
		t.Fatalf("testkit: standby: %v", err)
	}
	if err := p.waitSync(30 * time.Second); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return p
}

// postgresBin is the newest /usr/lib/postgresql/*/bin with initdb (PG_BIN overrides).
func postgresBin() (string, error) {
	if b := os.Getenv("PG_BIN"); b != "" {
		return b, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql (scripts/services.sh installs them)")
	}
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) < pgMajor(dirs[j]) })
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

func pgMajor(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// run runs a PostgreSQL tool as the clusters' owner: postgres when we are root.
func (p *PGPair) run(tool string, args ...string) error {
	path := filepath.Join(p.bin, tool)
	cmd := exec.Command(path, args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, out)
	}
	return nil
}

// chown gives path to the postgres OS user when we are root.
func (p *PGPair) chown(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(path, uid, gid)
}

// conf appends settings to a node's postgresql.conf (as the owner's file).
func (n *PGNode) conf(lines ...string) error {
	f, err := os.OpenFile(filepath.Join(n.Data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	return err
}

// common are the settings of both nodes. fsync is off: the drill kills processes, not the
// machine, so the page cache keeps what was written.
func (n *PGNode) common() []string {
	return []string{
		"listen_addresses = '127.0.0.1'", "port = " + strconv.Itoa(n.Port),
		"unix_socket_directories = '" + n.pair.dir + "'", "max_connections = 100",
		"fsync = off", "wal_level = replica", "max_wal_senders = 5", "hot_standby = on",
		"wal_sender_timeout = 5s", "wal_receiver_status_interval = 1s", "timezone = 'UTC'",
	}
}

func (p *PGPair) initPrimary() error {
	n := p.Primary
	if err := p.run("initdb", "-D", n.Data, "-U", pgUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return err
	}
	if err := n.conf(append(n.common(), "synchronous_commit = on", "synchronous_standby_names = 'standby1'")...); err != nil {
		return err
	}
	return n.Start()
}

func (p *PGPair) initStandby() error {
	n := p.Standby
	if err := p.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Primary.Port), "-U", pgUser,
		"-D", n.Data, "-X", "stream", "--no-sync"); err != nil {
		return err
	}
	// standby.signal by hand rather than -R, whose primary_conninfo (in postgresql.auto.conf,
	// read last) would drop the application_name synchronous_standby_names names.
	if err := os.WriteFile(filepath.Join(n.Data, "standby.signal"), nil, 0o600); err != nil {
		return err
	}
	if err := p.chown(filepath.Join(n.Data, "standby.signal")); err != nil {
		return err
	}
	err := n.conf(append(n.common(), "synchronous_standby_names = ''",
		fmt.Sprintf("primary_conninfo = 'host=127.0.0.1 port=%d user=%s application_name=standby1'", p.Primary.Port, pgUser))...)
	if err != nil {
		return err
	}
	return n.Start()
}

// Start starts the node and waits until it accepts connections.
func (n *PGNode) Start() error {
	return n.pair.run("pg_ctl", "-D", n.Data, "-l", n.Data+".log", "-w", "-t", "60", "start")
}

// Kill sends SIGKILL to the node's postmaster, like a crash of the machine's database process;
// its backends exit when they notice.
func (n *PGNode) Kill() error {
	b, err := os.ReadFile(filepath.Join(n.Data, "postmaster.pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// Promote turns a standby into a primary (pg_ctl promote) and waits until it accepts writes.
func (n *PGNode) Promote() error {
	return n.pair.run("pg_ctl", "-D", n.Data, "-w", "-t", "60", "promote")
}

// URL is a connection URL of database db on this node alone.
func (n *PGNode) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", pgUser, n.Port, db)
}

// URL is the multi-host URL of database db the server is given: pgx tries the hosts in order
// and keeps the one that accepts writes (target_session_attrs=read-write).
func (p *PGPair) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		pgUser, p.Primary.Port, p.Standby.Port, db)
}

// CreateDatabase creates database db on the node.
func (n *PGNode) CreateDatabase(t testing.TB, db string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, n.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		t.Fatal(err)
	}
}

// Exec runs sql on database db of the node (pausing replay on a standby, say).
func (n *PGNode) Exec(t testing.TB, db, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, n.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("testkit: %s: %v", sql, err)
	}
}

// waitSync waits until the primary reports standby1 as its synchronous standby.
func (p *PGPair) waitSync(within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, p.Primary.URL("postgres"))
		if err == nil {
			var state string
			err = conn.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'").Scan(&state)
			conn.Close(ctx)
			if err == nil && state == "sync" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby not synchronous in time: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop stops whatever still runs (immediate mode) and removes the directories.
func (p *PGPair) stop() {
	for _, n := range []*PGNode{p.Primary, p.Standby} {
		if n != nil {
			if _, err := os.Stat(filepath.Join(n.Data, "postmaster.pid")); err == nil {
				_ = p.run("pg_ctl", "-D", n.Data, "-m", "immediate", "-w", "-t", "30", "stop")
			}
		}
	}
	_ = os.RemoveAll(p.dir)
}
