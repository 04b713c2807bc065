package testkit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a real Redis Cluster on loopback: redis-server processes started with
// --cluster-enabled yes from the system's package (Debian's redis-server), joined by
// `redis-cli --cluster create`, each primary with its replicas. Nodes have no persistence;
// a node's cluster state lives in its own directory, so a killed node restarted rejoins.
type RedisCluster struct {
	Nodes []*RedisNode
	dir   string
}

// RedisNode is one redis-server process of a cluster.
type RedisNode struct {
	Port    int
	dir     string
	cluster bool
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
}

// Addr is the node's 127.0.0.1:port.
func (n *RedisNode) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

// clusterNodeTimeout is how long a silent primary takes to be declared failed (a replica then
// takes over within about a second more).
const clusterNodeTimeout = 1000 * time.Millisecond

// StartRedisCluster starts masters primaries with replicas replicas each and waits until the
// cluster is up and every replica is in sync. Everything stops when the test ends.
func StartRedisCluster(t testing.TB, masters, replicas int) *RedisCluster {
	t.Helper()
	c, err := startRedisCluster(masters, replicas)
	if c != nil {
		t.Cleanup(c.Stop)
	}
	if err != nil {
		t.Fatalf("testkit: redis cluster: %v", err)
	}
	return c
}

func startRedisCluster(masters, replicas int) (*RedisCluster, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (scripts/services.sh installs Debian's redis-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "flowxi-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{dir: dir}
	args := []string{"--cluster", "create"}
	for i := 0; i < masters*(1+replicas); i++ {
		n := &RedisNode{Port: freeClusterPort(), dir: filepath.Join(dir, strconv.Itoa(i)), cluster: true}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return c, err
		}
		if err := n.start(bin); err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		return c, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	return c, c.WaitHealthy(ctx, masters)
}

// StartRedis starts one plain redis-server of the test's own (to stop and start again: Redis
// down and back). It is killed when the test ends.
func StartRedis(t testing.TB) *RedisNode {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testkit: redis-server: %v", err)
	}
	n := &RedisNode{Port: freeClusterPort(), dir: t.TempDir()}
	if err := n.start(bin); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(n.Kill)
	return n
}

// URL is a plain node's REDIS_URL.
func (n *RedisNode) URL() string { return "redis://" + n.Addr() + "/0" }

// freeClusterPort picks a loopback port whose cluster bus port (port + 10000) is free too.
func freeClusterPort() int {
	for {
		p := 20000 + rand.IntN(9000)
		if portFree(p) && portFree(p+10000) {
			return p
		}
	}
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// start runs the node's redis-server in the foreground of a child process.
func (n *RedisNode) start(bin string) error {
	args := []string{"--port", strconv.Itoa(n.Port), "--bind", "127.0.0.1", "--dir", n.dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(n.dir, "redis.log")}
	if n.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(int(clusterNodeTimeout.Milliseconds())),
			"--cluster-replica-validity-factor", "0", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	n.mu.Lock()
	n.cmd, n.done = cmd, make(chan struct{})
	done := n.done
	n.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.Dial("tcp", n.Addr()); err == nil {
			_ = conn.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not start", n.Addr())
}

// running reports whether the node's process is alive.
func (n *RedisNode) running() bool {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Kill stops the node at once (SIGKILL), like a crash.
func (n *RedisNode) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts a killed node again on its port and directory: it rejoins the cluster (as a
// replica of whoever took over its slots) and syncs from its primary.
func (n *RedisNode) Restart() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return n.start(bin)
}

// URL is the REDIS_URL of the cluster, every node a seed.
func (c *RedisCluster) URL() string {
	u := "redis+cluster://" + c.Nodes[0].Addr()
	for i, n := range c.Nodes[1:] {
		if i == 0 {
			u += "?addr=" + n.Addr()
		} else {
			u += "&addr=" + n.Addr()
		}
	}
	return u
}

// Node is the node listening on addr (host:port), or nil.
func (c *RedisCluster) Node(addr string) *RedisNode {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// Stop kills every node and removes their directories.
func (c *RedisCluster) Stop() {
	for _, n := range c.Nodes {
		n.Kill()
	}
	_ = os.RemoveAll(c.dir)
}

// WaitHealthy waits until the nodes that are running agree the cluster is ok, with masters
// primaries each serving a replica that is online (so WAIT 1 can succeed everywhere).
func (c *RedisCluster) WaitHealthy(ctx context.Context, masters int) error {
	var last error
	for {
		if last = c.healthy(ctx, masters); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy in time: %w", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *RedisCluster) healthy(ctx context.Context, masters int) error {
	primaries := 0
	for _, n := range c.Nodes {
		if !n.running() {
			continue
		}
		r := redis.NewClient(&redis.Options{Addr: n.Addr(), DialTimeout: time.Second, MaxRetries: -1})
		info, err := r.ClusterInfo(ctx).Result()
		repl, rerr := r.Info(ctx, "replication").Result()
		_ = r.Close()
		if err != nil || rerr != nil {
			return errors.Join(err, rerr)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state not ok", n.Addr())
		}
		if strings.Contains(repl, "role:master") {
			if !strings.Contains(repl, "state=online") {
				return fmt.Errorf("%s: primary without an online replica", n.Addr())
			}
			primaries++
		} else if !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("%s: replica not in sync", n.Addr())
		}
	}
	if primaries != masters {
		return fmt.Errorf("%d primaries serve a replica, want %d", primaries, masters)
	}
	return nil
}

var (
	sharedClusterOnce sync.Once
	sharedCluster     *RedisCluster
	sharedClusterErr  error
)

// clusterRedisURL is the URL of the Redis Cluster this test binary shares, started on first
// use, when FLOWXI_TEST_REDIS=cluster asks the suites to run against a Cluster (make test
// runs the identity, 2FA, registration and rate-limit packages that way too).
func clusterRedisURL() (string, error) {
	sharedClusterOnce.Do(func() {
		sharedCluster, sharedClusterErr = startRedisCluster(3, 1)
	})
	if sharedClusterErr != nil {
		return "", sharedClusterErr
	}
	return sharedCluster.URL(), nil
}

// stopSharedCluster stops the shared cluster, if one was started (Main).
func stopSharedCluster() {
	if sharedCluster != nil {
		sharedCluster.Stop()
	}
}
