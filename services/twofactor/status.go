package twofactor

import (
	"context"
	"math"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
)

// GetTwofaStatus reports whether 2FA is on. While it is off, it hands out the calling token's
// pending enrollment secret (created, or reused while it lives) with its otpauth URI and the
// seconds left; nothing is written to PostgreSQL. Once on, the secret is never returned again.
func (s *TwoFactor) GetTwofaStatus(ctx context.Context, _ api.GetTwofaStatusRequestObject) (api.GetTwofaStatusResponseObject, error) {
	p := reqctx.Caller(ctx)
	u, err := s.loadUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := api.GetTwofaStatus200JSONResponse{
		Code: "TWOFA_STATUS", Enabled: u.TwofaEnabled, Email: api.Email(u.Email), Issuer: Issuer,
	}
	if u.TwofaEnabled {
		out.Message = i18n.Msg(ctx, "TWOFA_STATUS.enabled")
		return out, nil
	}
	now := s.clock.Now()
	pend, err := s.pending.getOrCreate(ctx, session{userID: u.ID, tokenID: p.TokenID}, now)
	if err != nil {
		return nil, err
	}
	uri := otpauthURI(u.Email, pend.Secret)
	left := int(math.Ceil(pend.ExpiresAt.Sub(now).Seconds()))
	out.Message = i18n.Msg(ctx, "TWOFA_STATUS")
	out.Secret, out.OtpauthUri, out.ExpiresIn = &pend.Secret, &uri, &left
	return out, nil
}
