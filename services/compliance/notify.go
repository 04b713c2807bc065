package compliance

import (
	"context"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
)

// notify e-mails u in their own language (not the operator's) within q's transaction, so the
// message exists exactly when what it announces was committed.
func (s *Compliance) notify(ctx context.Context, q *db.Queries, u db.User, template string, data map[string]any) error {
	now := s.clock.Now()
	if data == nil {
		data = map[string]any{}
	}
	if _, ok := data["Time"]; !ok {
		data["Time"] = mail.Time(now)
	}
	_, err := s.outbox.Enqueue(ctx, q, now, mail.Message{To: u.Email, Template: template, Locale: u.Locale, Data: data})
	return err
}
