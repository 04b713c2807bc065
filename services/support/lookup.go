package support

import (
	"context"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
)

// lastLogins is how many recent logins a lookup shows.
const lastLogins = 10

// FindSupportUser finds one user by e-mail, username or id and shows what support needs.
func (s *Support) FindSupportUser(ctx context.Context, req api.FindSupportUserRequestObject) (api.FindSupportUserResponseObject, error) {
	by, err := lookupKey(req.Params)
	if err != nil {
		return nil, err
	}
	c := &call{action: "support.user.viewed", details: map[string]any{"by": by}}
	var out api.SupportUser
	err = s.audited(ctx, c, func(q *db.Queries, _ time.Time) error {
		u, err := findUser(ctx, q, req.Params)
		if pg.IsNotFound(err) {
			return refuse(apierr.ErrUserNotFound)
		}
		if err != nil {
			return err
		}
		c.userID = u.ID
		out, err = s.view(ctx, q, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.FindSupportUser200JSONResponse{Code: "SUPPORT_USER_OK", Message: i18n.Msg(ctx, "SUPPORT_USER_OK"), Data: out}, nil
}

// lookupKey names the one lookup key given; none or several is 422 naming email.
func lookupKey(p api.FindSupportUserParams) (string, error) {
	var keys []string
	if p.Email != nil {
		keys = append(keys, "email")
	}
	if p.Username != nil {
		keys = append(keys, "username")
	}
	if p.Id != nil {
		keys = append(keys, "id")
	}
	if len(keys) != 1 {
		return "", apierr.Invalid("email", "lookup_one_of")
	}
	return keys[0], nil
}

func findUser(ctx context.Context, q *db.Queries, p api.FindSupportUserParams) (db.User, error) {
	switch {
	case p.Email != nil:
		return q.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(*p.Email)))
	case p.Username != nil:
		return q.GetUserByUsername(ctx, p.Username)
	default:
		return q.GetUserByID(ctx, *p.Id)
	}
}

// view is the user as support sees them: profile, compliance, wallets and last logins.
func (s *Support) view(ctx context.Context, q *db.Queries, u db.User) (api.SupportUser, error) {
	out := api.SupportUser{Id: u.ID, Email: u.Email, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		Locale: u.Locale, Status: api.AccountStatus(u.Status), AccountType: api.AccountType(u.AccountType),
		TwofaEnabled: u.TwofaEnabled, EmailVerifiedAt: apitime.FormatPtr(u.EmailVerifiedAt), CreatedAt: apitime.Format(u.CreatedAt)}
	cases, err := q.ListUserComplianceCases(ctx, u.ID)
	if err != nil {
		return out, err
	}
	out.Compliance.Cases = make([]struct {
		Kind   api.SupportUserComplianceCasesKind `json:"kind"`
		Status api.CaseStatus                     `json:"status"`
	}, len(cases))
	for i, c := range cases {
		out.Compliance.Cases[i].Kind, out.Compliance.Cases[i].Status = api.SupportUserComplianceCasesKind(c.Kind), api.CaseStatus(c.Status)
	}
	restrictions, err := q.ListActiveRestrictions(ctx, u.ID)
	if err != nil {
		return out, err
	}
	out.Compliance.ActiveRestrictions = len(restrictions)
	wallets, err := q.ListUserWallets(ctx, &u.ID)
	if err != nil {
		return out, err
	}
	out.Wallets = make([]api.Wallet, len(wallets))
	for i, w := range wallets {
		out.Wallets[i] = s.d.Wallets.ViewWallet(w)
	}
	out.LastLogins, err = logins(ctx, q, u.ID)
	return out, err
}

// login is one row of a user's last logins.
type login = struct {
	At        api.Timestamp `json:"at"`
	DeviceId  *string       `json:"device_id"`
	Ip        *string       `json:"ip"`
	Method    *string       `json:"method"`
	UserAgent *string       `json:"user_agent"`
}

func logins(ctx context.Context, q *db.Queries, userID int64) ([]login, error) {
	rows, err := q.ListUserLastLogins(ctx, db.ListUserLastLoginsParams{UserID: &userID, Max: lastLogins})
	if err != nil {
		return nil, err
	}
	out := make([]login, len(rows))
	for i, r := range rows {
		out[i] = login{At: apitime.Format(r.OccurredAt), Ip: r.Ip, UserAgent: r.UserAgent, DeviceId: nonEmpty(r.DeviceID), Method: nonEmpty(r.Method)}
	}
	return out, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
