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
	type row = db.ListMailBodiesToResealRow
	return secrets.Table[*db.Queries, row]{
		Name: "mail_outbox.body_enc",
		Keys: o.keys,
		Tx:   st.Tx,
		List: func(ctx context.Context, q *db.Queries, after int64, header []byte, max int32) ([]row, error) {
			return q.ListMailBodiesToReseal(ctx, db.ListMailBodiesToResealParams{After: after, Header: header, MaxRows: max})
		},
		Row: func(r row) (int64, [][]byte) { return r.ID, [][]byte{r.BodyEnc} },
		AAD: func(r row) []byte { return aad(r.ToAddress, r.Template) },
		Update: func(ctx context.Context, q *db.Queries, ids []int64, c []secrets.Column) (int64, error) {
			return q.ResealMailBodies(ctx, db.ResealMailBodiesParams{Ids: ids, Olds: c[0].Olds, News: c[0].News})
		},
		Count: st.Q.CountMailBodiesToReseal,
	}.Resealer()
}
