package app

import (
	"context"
	"time"

	"github.com/flowxi/backend/infra/secrets"
)

// resealers lists every kind of data stored sealed under the encryption key, each rewritten by
// `flowxi keys reencrypt`. Enrollment secrets waiting in Redis are not: they live 10 minutes,
// and one sealed under a removed key counts as expired (twofactor's pending store).
func (a *App) resealers() []secrets.Resealer {
	return []secrets.Resealer{a.twofa.Resealer(), a.outbox.Resealer(a.store), a.webhooks.Resealer()}
}

// DefaultReencryptBatch is how many rows one reencrypt transaction rewrites.
const DefaultReencryptBatch = 500

// Reencrypt rewrites everything sealed under an older encryption key to the newest one, in
// batches of size rows per transaction (secrets.Reencrypt: resumable, safe while the server
// runs). report hears of each batch.
func (a *App) Reencrypt(ctx context.Context, size int, report func(name string, b secrets.Batch)) error {
	return secrets.Reencrypt(ctx, a.resealers(), size, report)
}

// KeyStatus is what still depends on keys older than the newest of each ring.
type KeyStatus struct {
	// Encryption and HMAC are the rings' versions, newest first.
	Encryption, HMAC []string
	// Sealed counts, per kind of data, the rows not yet under the newest encryption key
	// (reencrypt rewrites them).
	Sealed map[string]int64
	// Codes counts the live e-mail codes MACed with an older HMAC key, the last expiring at
	// CodesUntil; RecoveryCodes the unused recovery codes hashed with one (they never expire:
	// they work until used, replaced, or their key leaves the ring).
	Codes         int64
	CodesUntil    *time.Time
	RecoveryCodes int64
}

// KeyStatus reports, for `flowxi keys status`, what an old key is still needed for.
func (a *App) KeyStatus(ctx context.Context) (KeyStatus, error) {
	st := KeyStatus{Encryption: a.keys.EncryptionRing().Versions(), HMAC: a.keys.HMACRing().Versions(), Sealed: map[string]int64{}}
	for _, r := range a.resealers() {
		n, err := r.Pending(ctx)
		if err != nil {
			return st, err
		}
		st.Sealed[r.Name] = n
	}
	var err error
	if st.Codes, st.CodesUntil, err = a.reg.CodesUnderOldMAC(ctx); err != nil {
		return st, err
	}
	st.RecoveryCodes, err = a.twofa.RecoveryCodesUnderOldMAC(ctx)
	return st, err
}
