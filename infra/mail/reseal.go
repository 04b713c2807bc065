package mail

import (
	"context"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/secrets"
)

// Resealer rewrites the queued bodies under the newest encryption key (`flowxi keys
// reencrypt`); a body sent (wiped) meanwhile stays wiped (compare-and-set).
func (o *Outbox) Resealer(st *pg.Store) secrets.Resealer {
	return secrets.Resealer{
		Name: "mail_outbox.body_enc",
		Batch: func(ctx context.Context, after int64, max int) (secrets.Batch, error) {
			var b secrets.Batch
			err := st.Tx(ctx, func(q *db.Queries) error {
				rows, err := q.ListMailBodiesToReseal(ctx, db.ListMailBodiesToResealParams{After: after, Header: o.keys.SealHeader(), MaxRows: int32(max)})
				if err != nil || len(rows) == 0 {
					return err
				}
				ids, sealed := make([]int64, len(rows)), make([][]byte, len(rows))
				for i, r := range rows {
					ids[i], sealed[i] = r.ID, r.BodyEnc
				}
				out, err := o.keys.ResealRows(ids, sealed, func(i int) []byte { return aad(rows[i].ToAddress, rows[i].Template) })
				if err != nil {
					return err
				}
				ids, olds, news := secrets.Columns(out)
				b.Last, b.Read = ids[len(ids)-1], len(ids)
				b.Rewritten, err = q.ResealMailBodies(ctx, db.ResealMailBodiesParams{Ids: ids, Olds: olds, News: news})
				return err
			})
			return b, err
		},
		Pending: func(ctx context.Context) (int64, error) {
			return st.Q.CountMailBodiesToReseal(ctx, o.keys.SealHeader())
		},
	}
}
