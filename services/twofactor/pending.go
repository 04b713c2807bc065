package twofactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowxi/backend/infra/cache"
	"github.com/flowxi/backend/infra/secrets"
)

// EnrollTTL is how long a pending secret waits for its first code.
const EnrollTTL = 600 * time.Second

// pendingStore keeps the enrollment secret in Redis only (never in PostgreSQL before a code
// proves it), encrypted so a Redis dump does not leak it either. A secret belongs to the
// session (access token) that asked for it: another token of the same user gets its own, and
// enabling accepts only a code of the secret shown to the calling token — a stolen token
// cannot read the secret its owner is about to enable.
type pendingStore struct {
	c    *cache.Cache
	keys *secrets.Keys
}

type pendingRecord struct {
	SecretEnc []byte    `json:"secret_enc"`
	ExpiresAt time.Time `json:"expires_at"`
}

// pending is a live enrollment secret.
type pending struct {
	Secret    string
	ExpiresAt time.Time
}

// session names whose pending secret it is: a user and one of their tokens.
type session struct{ userID, tokenID int64 }

func (p *pendingStore) key(s session) string {
	return p.c.Key("twofa", "pending", "{u"+strconv.FormatInt(s.userID, 10)+"}", "t"+strconv.FormatInt(s.tokenID, 10))
}

func pendingAAD(s session) []byte {
	return []byte("totp-pending:" + strconv.FormatInt(s.userID, 10) + ":" + strconv.FormatInt(s.tokenID, 10))
}

// get returns the live pending secret; one past its expiry by the service clock counts as
// missing (the Redis TTL only cleans up).
func (p *pendingStore) get(ctx context.Context, sess session, now time.Time) (pending, bool, error) {
	b, err := p.c.R.Get(ctx, p.key(sess)).Bytes()
	if errors.Is(err, redis.Nil) {
		return pending{}, false, nil
	}
	if err != nil {
		return pending{}, false, fmt.Errorf("twofactor: load pending: %w", err)
	}
	var rec pendingRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return pending{}, false, err
	}
	if !now.Before(rec.ExpiresAt) {
		return pending{}, false, nil
	}
	plain, err := p.keys.Decrypt(rec.SecretEnc, pendingAAD(sess))
	if errors.Is(err, secrets.ErrKeyRemoved) {
		// Sealed under a key that has left the ring (never rewritten: it lives EnrollTTL at
		// most): it counts as expired and the client gets a new secret.
		return pending{}, false, nil
	}
	if err != nil {
		return pending{}, false, err
	}
	return pending{Secret: string(plain), ExpiresAt: rec.ExpiresAt}, true, nil
}

// getOrCreate returns the live pending secret or creates one. Two concurrent calls converge
// on the same secret: the replacement is written only if the key still holds what was read
// (a WATCHed transaction), so a client never shows a QR code for a secret that was overwritten.
func (p *pendingStore) getOrCreate(ctx context.Context, sess session, now time.Time) (pending, error) {
	for attempt := 0; attempt < 5; attempt++ {
		if cur, ok, err := p.get(ctx, sess, now); err != nil || ok {
			return cur, err
		}
		secret, err := newSecret()
		if err != nil {
			return pending{}, err
		}
		enc, err := p.keys.Encrypt([]byte(secret), pendingAAD(sess))
		if err != nil {
			return pending{}, err
		}
		rec := pendingRecord{SecretEnc: enc, ExpiresAt: now.Add(EnrollTTL)}
		b, err := json.Marshal(rec)
		if err != nil {
			return pending{}, err
		}
		k := p.key(sess)
		err = p.c.R.Watch(ctx, func(tx *redis.Tx) error {
			old, err := tx.Get(ctx, k).Bytes()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			if err == nil {
				var o pendingRecord
				if json.Unmarshal(old, &o) == nil && now.Before(o.ExpiresAt) && !p.removedKey(o, sess) {
					return redis.TxFailedErr // a live secret appeared meanwhile: use it
				}
			}
			_, err = tx.TxPipelined(ctx, func(pl redis.Pipeliner) error {
				pl.Set(ctx, k, b, EnrollTTL)
				return nil
			})
			return err
		}, k)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return pending{}, fmt.Errorf("twofactor: save pending: %w", err)
		}
		return pending{Secret: secret, ExpiresAt: rec.ExpiresAt}, nil
	}
	return pending{}, errors.New("twofactor: pending secret contention")
}

// removedKey reports a record sealed under a key no longer in the ring (replaceable).
func (p *pendingStore) removedKey(rec pendingRecord, sess session) bool {
	_, err := p.keys.Decrypt(rec.SecretEnc, pendingAAD(sess))
	return errors.Is(err, secrets.ErrKeyRemoved)
}

// clear removes the pending secret (after enable commits).
func (p *pendingStore) clear(ctx context.Context, sess session) error {
	return p.c.R.Del(ctx, p.key(sess)).Err()
}
