package registration

import (
	"context"
	"time"

	"github.com/flowxi/backend/gen/db"
)

// CodesUnderOldMAC counts the live e-mail codes (registration, password reset) whose MAC is
// made with an HMAC key older than the newest, and when the last of them expires (nil: none):
// that key may leave the ring after it (`flowxi keys status`).
func (s *Registration) CodesUnderOldMAC(ctx context.Context) (int64, *time.Time, error) {
	r, err := s.d.Store.Q.LiveOTPsUnderOldMAC(ctx, db.LiveOTPsUnderOldMACParams{Now: s.d.Clock.Now(), Header: s.d.Keys.MACHeader()})
	if err != nil {
		return 0, nil, err
	}
	if r.Codes == 0 {
		return 0, nil, nil
	}
	return r.Codes, &r.Until, nil
}
