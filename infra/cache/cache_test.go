package cache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/testkit"
)

// Every REDIS_URL form the README documents opens the client of its topology (nothing is
// dialled until a command runs); malformed ones are refused with the variable named.
func TestRedisURLForms(t *testing.T) {
	for _, tc := range []struct {
		url, mode, client, err string
	}{
		{url: "redis://127.0.0.1:6379/0", mode: "single", client: "*redis.Client"},
		{url: "rediss://user:pw@redis.example:6380/2?dial_timeout=2s", mode: "single", client: "*redis.Client"},
		{url: "redis+cluster://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", mode: "cluster", client: "*redis.ClusterClient"},
		{url: "rediss+cluster://u:p@10.0.0.1:7000?addr=10.0.0.2:7000&wait_replicas=2&wait_timeout=1s", mode: "cluster", client: "*redis.ClusterClient"},
		{url: "redis+sentinel://10.0.0.1:26379?addr=10.0.0.2:26379&master_name=flowxi&password=pw", mode: "sentinel", client: "*redis.Client"},
		{url: "redis+sentinel://10.0.0.1:26379", err: "master_name"},
		{url: "memcache://127.0.0.1:11211", err: "scheme"},
		{url: "redis+mesh://127.0.0.1:1", err: "topology"},
		{url: "redis+cluster://127.0.0.1:7000?wait_replicas=-1", err: "wait_replicas"},
		{url: "redis://127.0.0.1:6379?wait_timeout=soon", err: "wait_timeout"},
		{url: "redis://127.0.0.1:6379?no_such_option=1", err: "REDIS_URL"},
	} {
		c, err := cache.Open(tc.url, "p:")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one naming %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if c.Mode != tc.mode || fmt.Sprintf("%T", c.R) != tc.client {
			t.Errorf("%s: mode %s client %T, want %s %s", tc.url, c.Mode, c.R, tc.mode, tc.client)
		}
		_ = c.Close()
	}
	if _, err := cache.Open("redis://127.0.0.1:6379", "flowxi:{x}:"); err == nil {
		t.Error("a prefix with braces was accepted: it would move every key's hash tag")
	}
}

// A tag is always exactly one hash tag, whatever the braces inside it.
func TestTagIsOneHashTag(t *testing.T) {
	for in, want := range map[string]string{
		"u42": "{u42}", "": "{-}", "}": "{)}", "a{b}c": "{a(b)c}", "{}": "{()}",
	} {
		if got := cache.Tag(in); got != want {
			t.Errorf("Tag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnavailableSeparatesAnswersFromFailures(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false}, {redis.Nil, false}, {fmt.Errorf("load: %w", redis.Nil), false}, {redis.TxFailedErr, false},
		{io.EOF, true}, {redis.ErrClosed, true}, {fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{errors.New("redis: connection pool timeout"), true}, {errors.New("some bug"), false},
	} {
		if got := cache.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// On a real 3-primary Cluster with replicas, every script and multi-key command of the rate
// limiter and the guessing budget keeps its keys in one slot, hostile keys included (a CROSSSLOT
// error would fail them), and durable writes are acknowledged by a replica.
func TestScriptsKeepTheirKeysInOneSlotOnACluster(t *testing.T) {
	cl := testkit.StartRedisCluster(t, 3, 1)
	c, err := cache.Open(cl.URL(), "t:")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	lim := ratelimit.New(c)
	b := lim.Budget("probe", 3, 0)
	for _, key := range []string{"u1", "}{", "a}b{c", "", "{x}", strings.Repeat("é", 40)} {
		if err := lim.Allow(ctx, "probe", ratelimit.Per(5, 60e9), key); err != nil {
			t.Fatalf("Allow(%q): %v", key, err)
		}
		slot, err := b.Reserve(ctx, key, time.Now())
		if err != nil {
			t.Fatalf("Reserve(%q): %v", key, err)
		}
		if _, err := slot.Fail(ctx, time.Now()); err != nil {
			t.Fatalf("Fail(%q): %v", key, err)
		}
	}
	keys, err := c.ScanKeys(ctx, "t:*")
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys on the cluster: %v %v", keys, err)
	}
	slots := map[int64]bool{}
	for _, k := range keys {
		slots[c.R.ClusterKeySlot(ctx, k).Val()] = true
	}
	if len(slots) < 2 {
		t.Fatalf("all keys in %d slot: the test proves nothing about spreading", len(slots))
	}
}
