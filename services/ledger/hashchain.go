package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// genesis is the prev_hash of an account's first entry.
var genesis = make([]byte, sha256.Size)

// entryHash chains one entry to the account's previous one. The account row is locked while it
// is computed, so the chain costs no extra lock.
func entryHash(prev []byte, account, version, txID, amount, balanceAfter int64, at time.Time) []byte {
	h := sha256.New()
	h.Write(prev)
	var b [48]byte
	binary.BigEndian.PutUint64(b[0:], uint64(account))
	binary.BigEndian.PutUint64(b[8:], uint64(version))
	binary.BigEndian.PutUint64(b[16:], uint64(txID))
	binary.BigEndian.PutUint64(b[24:], uint64(amount))
	binary.BigEndian.PutUint64(b[32:], uint64(balanceAfter))
	binary.BigEndian.PutUint64(b[40:], uint64(at.UTC().UnixMicro()))
	h.Write(b[:])
	return h.Sum(nil)
}

// EntryHash is the chain hash of an entry after prev (GenesisHash for an account's first entry),
// as the engine computes it, for tools that load entries in bulk (the history benchmark's seed);
// `ledger check` recomputes it.
func EntryHash(prev []byte, account, version, txID, amount, balanceAfter int64, at time.Time) []byte {
	return entryHash(prev, account, version, txID, amount, balanceAfter, at)
}

// GenesisHash is the prev_hash of an account's first entry.
func GenesisHash() []byte { return append([]byte(nil), genesis...) }
