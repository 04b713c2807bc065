// Package cache wraps the Redis client with a key prefix, so tests and tenants never collide.
// Redis holds only short-lived state: rate limits, challenges, pending secrets, step-up grants.
package cache

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Cache is a Redis client plus the key prefix every key gets.
type Cache struct {
	R      *redis.Client
	Prefix string
}

// Open connects to url (redis://host:port/db).
func Open(url, prefix string) (*Cache, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return &Cache{R: redis.NewClient(opt), Prefix: prefix}, nil
}

// Key builds a prefixed key. Parts used together should share a {hash tag} so they stay on one
// Redis Cluster slot.
func (c *Cache) Key(parts ...string) string {
	k := c.Prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// Ping checks Redis answers.
func (c *Cache) Ping(ctx context.Context) error { return c.R.Ping(ctx).Err() }

// Close closes the client.
func (c *Cache) Close() error { return c.R.Close() }
