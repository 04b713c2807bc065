package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// errReplicas means fewer replicas than required acknowledged a durable write in time.
var errReplicas = errors.New("cache: write not acknowledged by enough replicas")

// Durably runs fn on one connection to the primary that owns key, then WAITs until the
// configured number of replicas hold its writes. It is for the writes whose loss in a failover
// would hand an attacker something: a counted guess or rate-limit hit (lost, it allows another
// attempt) and a spent challenge (lost, it could be spent again). A replica promoted after the
// WAIT has the write. When fewer replicas acknowledge in time the error is Unavailable: the
// request is refused (503) rather than answered on a write that may vanish; what fn wrote
// stays written, which errs on the side of counting. Without a wait policy (one node) fn runs
// on the shared client.
func (c *Cache) Durably(ctx context.Context, key string, fn func(r redis.Cmdable) error) error {
	if c.wait.replicas == 0 {
		return fn(c.R)
	}
	node, err := c.primaryFor(ctx, key)
	if err != nil {
		return err
	}
	conn := node.Conn()
	defer conn.Close()
	if err := fn(conn); err != nil {
		c.reload(ctx)
		return err
	}
	n, err := conn.Do(ctx, "WAIT", c.wait.replicas, c.wait.timeout.Milliseconds()).Int()
	if err != nil {
		c.reload(ctx)
		return fmt.Errorf("cache: wait: %w", err)
	}
	if n < c.wait.replicas {
		return fmt.Errorf("%w: %d of %d", errReplicas, n, c.wait.replicas)
	}
	return nil
}

// primaryFor is the node client whose primary owns key (the shared client itself with one node
// or Sentinel, whose connections always go to the current primary).
func (c *Cache) primaryFor(ctx context.Context, key string) (*redis.Client, error) {
	switch r := c.R.(type) {
	case *redis.ClusterClient:
		node, err := r.MasterForKey(ctx, key)
		if err != nil {
			r.ReloadState(ctx)
		}
		return node, err
	case *redis.Client:
		return r, nil
	}
	return nil, fmt.Errorf("cache: client %T", c.R)
}

// reload asks a Cluster client to refresh its slot map (a failover moved the slot).
func (c *Cache) reload(ctx context.Context) {
	if cc, ok := c.R.(*redis.ClusterClient); ok {
		cc.ReloadState(ctx)
	}
}

// Unavailable reports an error that means Redis (or the part of a Cluster owning a key) is not
// answering, or is failing over: the request needing it is refused 503 SERVICE_UNAVAILABLE,
// never answered as if the check had passed. A missing key (redis.Nil) and a lost optimistic
// transaction (redis.TxFailedErr) are answers, not failures.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) {
		return false
	}
	if errors.Is(err, errReplicas) || errors.Is(err, redis.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK", "LOADING", "READONLY", "MASTERDOWN", "NOREPLICAS", "MISCONF"} {
			if strings.HasPrefix(re.Error(), p) {
				return true
			}
		}
		return false
	}
	s := err.Error()
	return strings.Contains(s, "connection pool timeout") || strings.Contains(s, "i/o timeout") || strings.Contains(s, "connection refused")
}

// ScanKeys lists the keys matching pattern, on every primary of a Cluster (tests and clean-up).
func (c *Cache) ScanKeys(ctx context.Context, pattern string) ([]string, error) {
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, r *redis.Client) error {
		iter := r.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	switch r := c.R.(type) {
	case *redis.ClusterClient:
		err := r.ForEachMaster(ctx, scan)
		return out, err
	case *redis.Client:
		return out, scan(ctx, r)
	}
	return nil, fmt.Errorf("cache: client %T", c.R)
}
