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
	return secrets.Resealer{
		Name: "webhook_subscriptions.secret_sealed",
		Batch: func(ctx context.Context, after int64, max int) (secrets.Batch, error) {
			var b secrets.Batch
			err := s.st.Tx(ctx, func(q *db.Queries) error {
				rows, err := q.ListWebhookSecretsToReseal(ctx, db.ListWebhookSecretsToResealParams{After: after, Header: s.keys.SealHeader(), MaxRows: int32(max)})
				if err != nil || len(rows) == 0 {
					return err
				}
				ids, cur, prev := make([]int64, len(rows)), make([][]byte, len(rows)), make([][]byte, len(rows))
				for i, r := range rows {
					ids[i], cur[i], prev[i] = r.ID, r.SecretSealed, r.PreviousSecretSealed
				}
				byID := func(i int) []byte { return sealAAD(ids[i]) }
				outCur, err := s.keys.ResealRows(ids, cur, byID)
				if err != nil {
					return err
				}
				outPrev, err := s.keys.ResealRows(ids, prev, byID)
				if err != nil {
					return err
				}
				_, olds, news := secrets.Columns(outCur)
				_, oldPrevs, newPrevs := secrets.Columns(outPrev)
				b.Last, b.Read = ids[len(ids)-1], len(ids)
				b.Rewritten, err = q.ResealWebhookSecrets(ctx, db.ResealWebhookSecretsParams{Ids: ids, Olds: olds, OldPrevs: oldPrevs, News: news, NewPrevs: newPrevs})
				return err
			})
			return b, err
		},
		Pending: func(ctx context.Context) (int64, error) {
			return s.st.Q.CountWebhookSecretsToReseal(ctx, s.keys.SealHeader())
		},
	}
}
