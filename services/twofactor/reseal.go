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
	type row = db.ListTwofaSecretsToResealRow
	return secrets.Table[*db.Queries, row]{
		Name: "users.twofa_secret_enc",
		Keys: s.keys,
		Tx:   s.st.Tx,
		List: func(ctx context.Context, q *db.Queries, after int64, header []byte, max int32) ([]row, error) {
			return q.ListTwofaSecretsToReseal(ctx, db.ListTwofaSecretsToResealParams{After: after, Header: header, MaxRows: max})
		},
		Row: func(r row) (int64, [][]byte) { return r.ID, [][]byte{r.SecretEnc} },
		AAD: func(r row) []byte { return totpAAD(r.ID) },
		Update: func(ctx context.Context, q *db.Queries, ids []int64, c []secrets.Column) (int64, error) {
			return q.ResealTwofaSecrets(ctx, db.ResealTwofaSecretsParams{Ids: ids, Olds: c[0].Olds, News: c[0].News})
		},
		Count: s.st.Q.CountTwofaSecretsToReseal,
	}.Resealer()
}

// RecoveryCodesUnderOldMAC counts the unused recovery codes hashed with an HMAC key older than
// the newest: they stop working when that key leaves the ring (`flowxi keys status`).
func (s *TwoFactor) RecoveryCodesUnderOldMAC(ctx context.Context) (int64, error) {
	return s.st.Q.CountRecoveryCodesUnderOldMAC(ctx, s.keys.MACHeader())
}
