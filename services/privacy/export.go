package privacy

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strconv"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
)

// ExportMe returns everything the platform holds about the caller; a 2FA user needs a live
// step-up window.
func (s *Privacy) ExportMe(ctx context.Context, _ api.ExportMeRequestObject) (api.ExportMeResponseObject, error) {
	p := reqctx.Caller(ctx)
	if err := s.stepup.Require(ctx, p.TokenID, p.TwofaEnabled); err != nil {
		return nil, err
	}
	doc, err := s.export(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return api.ExportMe200JSONResponse{Code: "EXPORT_OK", Message: i18n.Msg(ctx, "EXPORT_OK"), Data: doc}, nil
}

// ExportSupportUser is the same export for support (scope support:read, audited with the key).
func (s *Privacy) ExportSupportUser(ctx context.Context, req api.ExportSupportUserRequestObject) (api.ExportSupportUserResponseObject, error) {
	doc, err := s.export(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return api.ExportSupportUser200JSONResponse{Code: "EXPORT_OK", Message: i18n.Msg(ctx, "EXPORT_OK"), Data: doc}, nil
}

// export reads every section in one transaction (one consistent picture) and records the
// export in the audit log in the same transaction.
func (s *Privacy) export(ctx context.Context, userID int64) (api.PersonalDataExport, error) {
	now := s.clock.Now()
	var doc api.PersonalDataExport
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		u, err := q.GetUserByID(ctx, userID)
		if pg.IsNotFound(err) {
			return apierr.ErrUserNotFound
		}
		if err != nil {
			return err
		}
		doc = api.PersonalDataExport{GeneratedAt: apitime.Format(now), LinksExpireAt: apitime.Format(now.Add(LinkTTL)), UserId: u.ID}
		if doc.Profile, err = s.profile(ctx, u); err != nil {
			return err
		}
		for _, section := range []func(context.Context, *db.Queries, db.User, *api.PersonalDataExport) error{
			identitySections, securitySections, moneySections, s.complianceSections, feedSections,
		} {
			if err := section(ctx, q, u, &doc); err != nil {
				return err
			}
		}
		return audit.Record(ctx, q, now, audit.Event{Action: "privacy.export", UserID: u.ID,
			SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10)})
	})
	return doc, err
}

// profile is the user row without its secrets, the photo as a signed link.
func (s *Privacy) profile(ctx context.Context, u db.User) (api.ExportProfile, error) {
	p := api.ExportProfile{
		Id: u.ID, Email: u.Email, Username: u.Username, Status: api.AccountStatus(u.Status), Locale: api.Locale(u.Locale),
		AccountType: api.AccountType(u.AccountType), FirstName: u.FirstName, LastName: u.LastName,
		Country: u.Country, Nationality: u.Nationality, PhoneNumber: u.PhoneNumber, TwofaEnabled: u.TwofaEnabled,
		TwofaEnabledAt: apitime.FormatPtr(u.TwofaEnabledAt), EmailVerifiedAt: apitime.FormatPtr(u.EmailVerifiedAt),
		CreatedAt: apitime.Format(u.CreatedAt), UpdatedAt: apitime.Format(u.UpdatedAt),
		ClosedAt: apitime.FormatPtr(u.ClosedAt), ErasedAt: apitime.FormatPtr(u.ErasedAt),
	}
	if u.BirthDate != nil {
		p.BirthDate = &openapi_types.Date{Time: *u.BirthDate}
	}
	if u.PhotoKey != nil {
		url, err := s.objects.SignedURL(ctx, *u.PhotoKey, LinkTTL)
		if err != nil {
			return p, err
		}
		p.PhotoUrl = &url
	}
	return p, nil
}

// object decodes a stored JSON object (audit details, event payloads); never nil.
func object(b []byte) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return m
}

// objects decodes a stored JSON array of objects (beneficial owners); never nil.
func objects(b []byte) []map[string]any {
	out := []map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// hexSum is a stored digest as lower-case hex.
func hexSum(b []byte) string { return hex.EncodeToString(b) }
