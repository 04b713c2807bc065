// Package cache wraps the Redis client with a key prefix, so tests and tenants never collide.
// Redis holds only short-lived state: rate limits, challenges, pending secrets, step-up grants.
//
// One client type serves a single node, a Sentinel-managed primary and a Redis Cluster, chosen
// by the form of REDIS_URL (see Open). Keys used together share a {hash tag} (Tag), so every
// script and multi-key command stays on one Cluster slot.
package cache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Cache is a Redis client plus the key prefix every key gets.
type Cache struct {
	R      redis.UniversalClient
	Prefix string
	// Mode is the topology REDIS_URL named: "single", "sentinel" or "cluster".
	Mode string
	wait waitPolicy
}

// waitPolicy is how many replicas must hold a write that guards a secret (a counted guess, a
// spent challenge) before it counts as done, and how long to wait for them (Durably).
type waitPolicy struct {
	replicas int
	timeout  time.Duration
}

// DefaultWaitTimeout bounds the WAIT of a durable write when REDIS_URL names none.
const DefaultWaitTimeout = 500 * time.Millisecond

// Open connects to url, whose form chooses the topology:
//
//	redis://[user:pass@]host:port[/db][?opts]                          one node (rediss:// for TLS)
//	redis+sentinel://[user:pass@]sentinel:port[?addr=host:port…]&master_name=NAME[&password=…][/db]
//	redis+cluster://[user:pass@]seed:port[?addr=host:port…]            Redis Cluster (seed nodes)
//
// (rediss+sentinel://, rediss+cluster:// for TLS). The options are go-redis's URL options, plus
// wait_replicas=N and wait_timeout=D for the writes that guard secrets (Durably): N defaults to
// 0 on one node and to 1 with Sentinel or Cluster, whose failover would otherwise lose a write
// the old primary acknowledged but had not yet replicated.
func Open(rawURL, prefix string) (*Cache, error) {
	if strings.ContainsAny(prefix, "{}") {
		return nil, errors.New("REDIS_PREFIX must not contain { or }: they would change the keys' Cluster hash tags")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	base, mode, ok := strings.Cut(u.Scheme, "+")
	if !ok {
		mode = "single"
	}
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("REDIS_URL: scheme %q: want redis, rediss, redis+sentinel or redis+cluster", u.Scheme)
	}
	wait, err := takeWait(u, mode)
	if err != nil {
		return nil, err
	}
	u.Scheme = base
	r, err := newClient(u.String(), mode)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return &Cache{R: r, Prefix: prefix, Mode: mode, wait: wait}, nil
}

// newClient builds the client of one topology from a redis:// or rediss:// URL.
func newClient(u, mode string) (redis.UniversalClient, error) {
	switch mode {
	case "single":
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, err
		}
		opt.MaintNotificationsConfig = noMaintNotifications()
		return redis.NewClient(opt), nil
	case "sentinel":
		opt, err := redis.ParseFailoverURL(u)
		if err != nil {
			return nil, err
		}
		if opt.MasterName == "" {
			return nil, errors.New("a sentinel URL needs master_name")
		}
		return redis.NewFailoverClient(opt), nil
	case "cluster":
		opt, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, err
		}
		opt.MaintNotificationsConfig = noMaintNotifications()
		return redis.NewClusterClient(opt), nil
	}
	return nil, fmt.Errorf("unknown topology %q: want sentinel or cluster", mode)
}

// takeWait removes wait_replicas and wait_timeout from u's query (go-redis refuses options it
// does not know) and returns the policy they set.
func takeWait(u *url.URL, mode string) (waitPolicy, error) {
	q := u.Query()
	w := waitPolicy{timeout: DefaultWaitTimeout}
	if mode != "single" {
		w.replicas = 1
	}
	if v := q.Get("wait_replicas"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return w, fmt.Errorf("REDIS_URL: wait_replicas=%q: want a number of replicas", v)
		}
		w.replicas = n
	}
	if v := q.Get("wait_timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return w, fmt.Errorf("REDIS_URL: wait_timeout=%q: want a duration such as 500ms", v)
		}
		w.timeout = d
	}
	q.Del("wait_replicas")
	q.Del("wait_timeout")
	u.RawQuery = q.Encode()
	return w, nil
}

// Key builds a prefixed key. Parts used together should share a {hash tag} (Tag) so they stay
// on one Redis Cluster slot.
func (c *Cache) Key(parts ...string) string { return c.Prefix + strings.Join(parts, ":") }

// Tag is s as a Cluster hash tag: "{s}". Braces inside s are replaced, so the tag is always
// exactly s (a "}" inside it would end the tag early, and "{}" would hash the whole key).
func Tag(s string) string {
	s = strings.NewReplacer("{", "(", "}", ")").Replace(s)
	if s == "" {
		s = "-"
	}
	return "{" + s + "}"
}

// Ping checks Redis answers: with Cluster, every primary (a slot range whose primary is down
// fails the requests that need it).
func (c *Cache) Ping(ctx context.Context) error {
	if cc, ok := c.R.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() })
	}
	return c.R.Ping(ctx).Err()
}

// Close closes the client.
func (c *Cache) Close() error { return c.R.Close() }

// noMaintNotifications turns off go-redis's maintenance-notification handshake. Its default
// "auto" mode tries it on every new connection and, refused by a server that lacks it (Redis
// before 8), switches itself off by writing the shared options under one client's lock, while
// a Conn taken from the same node (Durably) reads them under another's: a data race the race
// detector caught on a Cluster. The feature is for Redis Enterprise/Cloud maintenance; we do
// not use it.
func noMaintNotifications() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}
