package twofactor

import (
	"context"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/secrets"
)

// Resealer rewrites the stored TOTP secrets under the newest encryption key (`flowxi keys
// reencrypt`). A login racing with it still succeeds: claim follows a secret that was only
// resealed (claimResealed).
func (s *TwoFactor) Resealer() secrets.Resealer {
	return secrets.Resealer{
		Name: "users.twofa_secret_enc",
		Batch: func(ctx context.Context, after int64, max int) (secrets.Batch, error) {
			var b secrets.Batch
			err := s.st.Tx(ctx, func(q *db.Queries) error {
				rows, err := q.ListTwofaSecretsToReseal(ctx, db.ListTwofaSecretsToResealParams{After: after, Header: s.keys.SealHeader(), MaxRows: int32(max)})
				if err != nil || len(rows) == 0 {
					return err
				}
				ids, sealed := make([]int64, len(rows)), make([][]byte, len(rows))
				for i, r := range rows {
					ids[i], sealed[i] = r.ID, r.SecretEnc
				}
				out, err := s.keys.ResealRows(ids, sealed, func(i int) []byte { return totpAAD(ids[i]) })
				if err != nil {
					return err
				}
				ids, olds, news := secrets.Columns(out)
				b.Last, b.Read = ids[len(ids)-1], len(ids)
				b.Rewritten, err = q.ResealTwofaSecrets(ctx, db.ResealTwofaSecretsParams{Ids: ids, Olds: olds, News: news})
				return err
			})
			return b, err
		},
		Pending: func(ctx context.Context) (int64, error) {
			return s.st.Q.CountTwofaSecretsToReseal(ctx, s.keys.SealHeader())
		},
	}
}

// RecoveryCodesUnderOldMAC counts the unused recovery codes hashed with an HMAC key older than
// the newest: they stop working when that key leaves the ring (`flowxi keys status`).
func (s *TwoFactor) RecoveryCodesUnderOldMAC(ctx context.Context) (int64, error) {
	return s.st.Q.CountRecoveryCodesUnderOldMAC(ctx, s.keys.MACHeader())
}
