package compliance

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/apierr"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/i18n"
	"github.com/flowxi/backend/services/reqctx"
)

// SaveKycData validates the personal data (prefilled from the profile) and saves it on the
// caller's KYC case.
func (s *Compliance) SaveKycData(ctx context.Context, req api.SaveKycDataRequestObject) (api.SaveKycDataResponseObject, error) {
	p := reqctx.PrincipalFrom(ctx)
	if p == nil {
		return nil, apierr.ErrUnauthenticated
	}
	var view api.ComplianceCase
	err := s.st.Tx(ctx, func(q *db.Queries, _ pgx.Tx) error {
		c, u, err := openCase(ctx, q, p.UserID, "kyc", s.clock.Now)
		if err != nil {
			return err
		}
		if !editable(c.Status) {
			return ErrNotEditable
		}
		now := s.clock.Now()
		row, err := kycRow(req.Body, u, now)
		if err != nil {
			return err
		}
		row.CaseID = c.ID
		if err := q.UpsertKYCData(ctx, row); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{Action: "compliance.kyc.data_saved", UserID: p.UserID,
			SubjectType: "compliance_case", SubjectID: strconv.FormatInt(c.ID, 10)}); err != nil {
			return err
		}
		view, err = s.caseView(ctx, q, c, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.SaveKycData200JSONResponse{Code: "KYC_DATA_SAVED", Message: i18n.Msg(ctx, "KYC_DATA_SAVED"), Data: view}, nil
}

// kycRow merges the request with the profile and validates every value with the profile's rules.
func kycRow(b *api.KycDataRequest, u db.User, now time.Time) (db.UpsertKYCDataParams, error) {
	var fe fieldErrors
	var row db.UpsertKYCDataParams
	pick := func(given, profile *string) *string {
		if given != nil {
			return given
		}
		return profile
	}
	name := func(field string, v *string) string {
		if v == nil {
			fe.add(field, "required")
			return ""
		}
		out, rule := normalizeName(*v)
		if rule == "maxLength" {
			fe.add(field, rule, "100")
		} else if rule != "" {
			fe.add(field, rule)
		}
		return out
	}
	row.FirstName = name("first_name", pick(b.FirstName, u.FirstName))
	row.LastName = name("last_name", pick(b.LastName, u.LastName))

	birth := u.BirthDate
	if b.BirthDate != nil {
		t := b.BirthDate.Time
		birth = &t
	}
	switch {
	case birth == nil:
		fe.add("birth_date", "required")
	case !validBirthDate(*birth, now):
		fe.add("birth_date", "past_date")
	case !adult(*birth, now):
		fe.add("birth_date", "adult")
	default:
		row.BirthDate = *birth
	}
	if v := pick(b.Nationality, u.Nationality); v == nil {
		fe.add("nationality", "required")
	} else if n, ok := normalizeNationality(*v); !ok {
		fe.add("nationality", "nationality")
	} else {
		row.Nationality = n
	}
	if v := pick(b.Country, u.Country); v == nil {
		fe.add("country", "required")
	} else if c, ok := normalizeCountry(*v); !ok {
		fe.add("country", "country")
	} else {
		row.Country = c
	}
	text := func(field, v string, max int) string {
		out, rule := normalizeText(v, max)
		if rule == "maxLength" {
			fe.add(field, rule, strconv.Itoa(max))
		} else if rule != "" {
			fe.add(field, rule)
		}
		return out
	}
	a := b.Address
	row.AddressLine1 = text("address.line1", a.Line1, 200)
	if a.Line2 != nil {
		if l2, rule := normalizeText(*a.Line2, 200); rule == "" {
			row.AddressLine2 = &l2
		} else if rule != "required" { // an empty second line is no second line
			text("address.line2", *a.Line2, 200)
		}
	}
	row.City = text("address.city", a.City, 100)
	row.PostalCode = text("address.postal_code", a.PostalCode, 20)
	row.UpdatedAt = now
	return row, fe.err()
}

// SaveKybData validates the company data and saves it on the caller's KYB case.
func (s *Compliance) SaveKybData(ctx context.Context, req api.SaveKybDataRequestObject) (api.SaveKybDataResponseObject, error) {
	p := reqctx.PrincipalFrom(ctx)
	if p == nil {
		return nil, apierr.ErrUnauthenticated
	}
	var view api.ComplianceCase
	err := s.st.Tx(ctx, func(q *db.Queries, _ pgx.Tx) error {
		c, _, err := openCase(ctx, q, p.UserID, "kyb", s.clock.Now)
		if err != nil {
			return err
		}
		if !editable(c.Status) {
			return ErrNotEditable
		}
		now := s.clock.Now()
		row, err := kybRow(req.Body, now)
		if err != nil {
			return err
		}
		row.CaseID = c.ID
		if err := q.UpsertKYBData(ctx, row); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{Action: "compliance.kyb.data_saved", UserID: p.UserID,
			SubjectType: "compliance_case", SubjectID: strconv.FormatInt(c.ID, 10)}); err != nil {
			return err
		}
		view, err = s.caseView(ctx, q, c, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.SaveKybData200JSONResponse{Code: "KYB_DATA_SAVED", Message: i18n.Msg(ctx, "KYB_DATA_SAVED"), Data: view}, nil
}

// kybRow validates the company data and its beneficial owners (adults, total ownership ≤ 100 %).
func kybRow(b *api.KybDataRequest, now time.Time) (db.UpsertKYBDataParams, error) {
	var fe fieldErrors
	row := db.UpsertKYBDataParams{UpdatedAt: now}
	var rule string
	if row.LegalName, rule = normalizeText(b.LegalName, 200); rule != "" {
		fe.add("legal_name", rule, "200")
	}
	if row.RegistrationNumber, rule = normalizeText(b.RegistrationNumber, 100); rule != "" {
		fe.add("registration_number", rule, "100")
	}
	var ok bool
	if row.Country, ok = normalizeCountry(b.Country); !ok {
		fe.add("country", "country")
	}
	owners := make([]api.BeneficialOwner, 0, len(b.BeneficialOwners))
	total := 0
	for i, o := range b.BeneficialOwners {
		f := "beneficial_owners." + strconv.Itoa(i) + "."
		var r string
		if o.FirstName, r = normalizeName(o.FirstName); r != "" {
			fe.add(f+"first_name", r, "100")
		}
		if o.LastName, r = normalizeName(o.LastName); r != "" {
			fe.add(f+"last_name", r, "100")
		}
		switch {
		case !validBirthDate(o.BirthDate.Time, now):
			fe.add(f+"birth_date", "past_date")
		case !adult(o.BirthDate.Time, now):
			fe.add(f+"birth_date", "adult")
		}
		if o.Nationality, ok = normalizeNationality(o.Nationality); !ok {
			fe.add(f+"nationality", "nationality")
		}
		total += o.OwnershipPercent
		owners = append(owners, o)
	}
	if total > 100 {
		fe.add("beneficial_owners", "ownership_total")
	}
	if err := fe.err(); err != nil {
		return row, err
	}
	raw, err := json.Marshal(owners)
	if err != nil {
		return row, err
	}
	row.BeneficialOwners = raw
	return row, nil
}
