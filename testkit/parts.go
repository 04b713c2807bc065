package testkit

import (
	"context"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/app"
	"github.com/flowxi/backend/infra/blob"
	"github.com/flowxi/backend/infra/blob/deletions"
	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/password"
	"github.com/flowxi/backend/services/identity/tokens"
	"github.com/flowxi/backend/services/ledger"
)

// The accessors below hand a test the part of the running instance it checks directly (a
// Redis key's TTL, a sealed audit chain, an expiry sweep under the fake clock), the same
// instances the server uses.

// Parts is every dependency the app built, for a test that builds a service over them (the
// 2FA methods other services call); prefer the narrower accessors.
func (e *Env) Parts() app.Parts { return e.parts }

// Store is the PostgreSQL store, for the typed queries (Store.Q, Store.Tx).
func (e *Env) Store() *pg.Store { return e.parts.Store }

// Cache is the Redis cache (the challenge and step-up stores are built over it).
func (e *Env) Cache() *cache.Cache { return e.parts.Cache }

// Redis is the Redis client, to inspect keys (their names carry Cfg.RedisPrefix).
func (e *Env) Redis() redis.UniversalClient { return e.parts.Cache.R }

// RedisKeys lists this test's Redis keys matching pattern (after Cfg.RedisPrefix), on every
// primary of a Cluster.
func (e *Env) RedisKeys(pattern string) []string {
	e.T.Helper()
	keys, err := e.parts.Cache.ScanKeys(context.Background(), e.Cfg.RedisPrefix+pattern)
	if err != nil {
		e.T.Fatalf("testkit: redis keys: %v", err)
	}
	return keys
}

// Keys are the encryption and HMAC keys.
func (e *Env) Keys() *secrets.Keys { return e.parts.Keys }

// Tokens issues access tokens.
func (e *Env) Tokens() *tokens.Service { return e.parts.Tokens }

// Hasher verifies stored password hashes.
func (e *Env) Hasher() *password.Hasher { return e.parts.Hasher }

// Outbox seals and opens queued e-mails.
func (e *Env) Outbox() *mail.Outbox { return e.parts.Outbox }

// Storage is the object storage.
func (e *Env) Storage() blob.Storage { return e.parts.Storage }

// Deletions is the durable object-deletion queue.
func (e *Env) Deletions() *deletions.Queue { return e.parts.Deletions }

// Ledger is the money engine (ExpireHolds with the fake clock, direct calls in benchmarks).
func (e *Env) Ledger() *ledger.Service { return e.parts.Ledger }

// EraseDue runs the erasure worker's sweep once (under the fake clock) and returns how many
// accounts it erased.
func (e *Env) EraseDue(ctx context.Context) (int, error) { return e.parts.Eraser.EraseDue(ctx) }

// SealAudit seals the pending audit events now instead of waiting for the sealer, and says
// how many it sealed.
func (e *Env) SealAudit(ctx context.Context) (int, error) { return e.parts.Sealer.SealPending(ctx) }

// SequenceEvents runs one sweep of the event sequencer (0 when the worker's sweep holds the lock).
func (e *Env) SequenceEvents(ctx context.Context) (int64, error) { return e.parts.Sequencer.Sweep(ctx) }

// SettleEvents gives every committed event its feed position: sweeps (the worker's sweep may
// hold the lock for a moment) until none is left without one.
func (e *Env) SettleEvents() {
	e.T.Helper()
	for {
		if _, err := e.parts.Sequencer.Sweep(context.Background()); err != nil {
			e.T.Fatal(err)
		}
		if e.Count(`SELECT count(*) FROM events v WHERE NOT EXISTS (SELECT 1 FROM event_feed p WHERE p.event_id = v.id)`) == 0 {
			return
		}
	}
}

// PruneEvents runs the event retention worker once, at the fake clock's time.
func (e *Env) PruneEvents(ctx context.Context) (int64, error) { return e.parts.Pruner.Prune(ctx) }

// VerifyAudit verifies the audit chain as of now (events unsealed for longer than staleAfter
// are reported).
func (e *Env) VerifyAudit(ctx context.Context, now time.Time, staleAfter time.Duration) (audit.Report, error) {
	return audit.Verify(ctx, e.parts.Store, now, staleAfter)
}

// CreateInternalKey creates an internal API key holding scopes and returns it.
func (e *Env) CreateInternalKey(name string, scopes ...string) string {
	e.T.Helper()
	k, err := e.parts.InternalKeys.Create(context.Background(), name, scopes)
	if err != nil {
		e.T.Fatalf("testkit: internal key: %v", err)
	}
	return k
}

// Reencrypt runs `flowxi keys reencrypt` on this instance (its key rings), size rows per batch.
func (e *Env) Reencrypt(ctx context.Context, size int, report func(name string, b secrets.Batch)) error {
	return e.app.Reencrypt(ctx, size, report)
}

// KeyStatus is `flowxi keys status` on this instance.
func (e *Env) KeyStatus(ctx context.Context) (app.KeyStatus, error) { return e.app.KeyStatus(ctx) }

// StopWorkers stops the background workers (mail sender, audit sealer, …) and waits for them.
func (e *Env) StopWorkers() { e.app.Shutdown() }

// OpsHandler is the operations listener's handler (metrics, liveness, readiness).
func (e *Env) OpsHandler() http.Handler { return e.app.OpsHandler() }

// Jobs is the River client of the instance (background jobs).
func (e *Env) Jobs() *jobs.Jobs { return e.parts.Jobs }

// RunDueJobs works the background jobs due at the fake clock's now: it makes them available at
// once (what River's leader does every 5 s) and waits, up to 10 s, until none due is waiting or
// running. A job that failed again is then waiting for its next retry.
func (e *Env) RunDueJobs() {
	e.T.Helper()
	ctx := context.Background()
	now := e.Clock.Now()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := e.parts.Jobs.PromoteDue(ctx, now); err != nil {
			e.T.Fatalf("testkit: promote jobs: %v", err)
		}
		idle, err := e.parts.Jobs.Idle(ctx, now)
		if err != nil {
			e.T.Fatalf("testkit: jobs: %v", err)
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			e.T.Fatal("testkit: due jobs still waiting or running after 10s")
		}
	}
}

// JobsSettled reports whether no background job is running: River has recorded the outcome of
// every attempt made so far (a failed one is waiting for its retry).
func (e *Env) JobsSettled() bool {
	e.T.Helper()
	return e.Count("SELECT count(*) FROM river_job WHERE state = 'running'") == 0
}
