package webhooks

import (
	"context"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/secrets"
)

// Resealer rewrites the subscriptions' signing secrets (current and previous) under the newest
// encryption key (`flowxi keys reencrypt`); a subscription rotated meanwhile keeps its new
// secrets (compare-and-set on both).
func (s *Webhooks) Resealer() secrets.Resealer {
	type row = db.ListWebhookSecretsToResealRow
	return secrets.Table[*db.Queries, row]{
		Name: "webhook_subscriptions.secret_sealed",
		Keys: s.keys,
		Tx:   s.st.Tx,
		List: func(ctx context.Context, q *db.Queries, after int64, header []byte, max int32) ([]row, error) {
			return q.ListWebhookSecretsToReseal(ctx, db.ListWebhookSecretsToResealParams{After: after, Header: header, MaxRows: max})
		},
		Row: func(r row) (int64, [][]byte) { return r.ID, [][]byte{r.SecretSealed, r.PreviousSecretSealed} },
		AAD: func(r row) []byte { return sealAAD(r.ID) },
		Update: func(ctx context.Context, q *db.Queries, ids []int64, c []secrets.Column) (int64, error) {
			cur, prev := c[0], c[1]
			return q.ResealWebhookSecrets(ctx, db.ResealWebhookSecretsParams{Ids: ids, Olds: cur.Olds, OldPrevs: prev.Olds, News: cur.News, NewPrevs: prev.News})
		},
		Count: s.st.Q.CountWebhookSecretsToReseal,
	}.Resealer()
}
