// Package password hashes and verifies passwords with argon2id (PHC strings), bounds how many
// hashes run at once, and gives unknown accounts the same cost as known ones.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/flowxi/backend/kit/sema"
)

// Params are argon2id costs.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Default is DESIGN §4: 19 MiB, t=2, p=1.
var Default = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Hasher hashes and verifies under a concurrency bound.
type Hasher struct {
	p     Params
	sem   sema.Sema
	dummy string
}

// New builds a hasher; at most NumCPU hashes run at once so a login flood queues instead of
// starving the server.
func New(p Params) *Hasher {
	h := &Hasher{p: p, sem: sema.New(runtime.NumCPU())}
	d, err := h.hash("flowxi-dummy-password-for-unknown-accounts")
	if err != nil {
		panic(err)
	}
	h.dummy = d
	return h
}

// Hash returns the PHC string of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.sem.Acquire(ctx); err != nil {
		return "", err
	}
	defer h.sem.Release()
	return h.hash(pw)
}

func (h *Hasher) hash(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks pw against encoded. An empty encoded (unknown account, no password yet) is
// verified against a dummy hash so the cost is the same; it then always fails.
// needsRehash reports parameters older than the current ones.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (ok, needsRehash bool, err error) {
	if err := h.sem.Acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.sem.Release()
	real := encoded != ""
	if !real {
		encoded = h.dummy
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	match := subtle.ConstantTimeCompare(got, key) == 1
	return match && real, real && p != h.p, nil
}

func decode(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, errors.New("password: not an argon2id hash")
	}
	var p Params
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return Params{}, nil, nil, fmt.Errorf("password: params: %w", err)
	}
	p.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, err
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}
