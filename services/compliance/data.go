package compliance

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/audit"
)

// SaveKycData validates the personal data (prefilled from the profile) and saves it on the
// caller's KYC case.
func (s *Compliance) SaveKycData(ctx context.Context, req api.SaveKycDataRequestObject) (api.SaveKycDataResponseObject, error) {
	view, err := s.saveCaseData(ctx, "kyc", func(q *db.Queries, caseID int64, u db.User, now time.Time) error {
		row, err := kycRow(req.Body, u, now)
		if err != nil {
			return err
		}
		row.CaseID = caseID
		return q.UpsertKYCData(ctx, row)
	})
	if err != nil {
		return nil, err
	}
	return api.SaveKycData200JSONResponse{Code: "KYC_DATA_SAVED", Message: i18n.Msg(ctx, "KYC_DATA_SAVED"), Data: view}, nil
}

// saveCaseData opens the caller's case of kind (kyc, kyb), refuses it unless editable, lets save
// validate and write the data, audit-logs the save and returns the case, in one transaction.
func (s *Compliance) saveCaseData(ctx context.Context, kind string, save func(q *db.Queries, caseID int64, u db.User, now time.Time) error) (api.ComplianceCase, error) {
	var view api.ComplianceCase
	p := reqctx.Caller(ctx)
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		c, u, err := openCase(ctx, q, p.UserID, kind, s.clock.Now)
		if err != nil {
			return err
		}
		if !editable(c.Status) {
			return ErrNotEditable
		}
		now := s.clock.Now()
		if err := save(q, c.ID, u, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, q, now, audit.Event{Action: "compliance." + kind + ".data_saved", UserID: p.UserID,
			SubjectType: "compliance_case", SubjectID: strconv.FormatInt(c.ID, 10)}); err != nil {
			return err
		}
		view, err = s.caseView(ctx, q, c, true)
		return err
	})
	return view, err
}

// kycRow merges the request with the profile and validates every value with the rules the profile
// applies too (kit/rules).
func kycRow(b *api.KycDataRequest, u db.User, now time.Time) (db.UpsertKYCDataParams, error) {
	var fe apierr.Fields
	var row db.UpsertKYCDataParams
	pick := func(given, profile *string) *string {
		if given != nil {
			return given
		}
		return profile
	}
	required := func(field string, v *string, check rules.Check) string {
		if v == nil {
			fe.Add(field, "required")
			return ""
		}
		return rules.Apply(&fe, field, *v, check)
	}
	row.FirstName = required("first_name", pick(b.FirstName, u.FirstName), rules.Name)
	row.LastName = required("last_name", pick(b.LastName, u.LastName), rules.Name)

	birth := u.BirthDate
	if b.BirthDate != nil {
		t := b.BirthDate.Time
		birth = &t
	}
	if birth == nil {
		fe.Add("birth_date", "required")
	} else if adultBirthDate(&fe, "birth_date", *birth, now) {
		row.BirthDate = *birth
	}
	row.Nationality = required("nationality", pick(b.Nationality, u.Nationality), rules.Nationality)
	row.Country = required("country", pick(b.Country, u.Country), rules.Country)
	a := b.Address
	row.AddressLine1 = text(&fe, "address.line1", a.Line1, 200)
	if a.Line2 != nil && strings.TrimSpace(*a.Line2) != "" { // an empty second line is no second line
		l2 := text(&fe, "address.line2", *a.Line2, 200)
		row.AddressLine2 = &l2
	}
	row.City = text(&fe, "address.city", a.City, 100)
	row.PostalCode = text(&fe, "address.postal_code", a.PostalCode, 20)
	row.UpdatedAt = now
	return row, fe.Err()
}

// text applies the free-text rule, at most max characters, to a field.
func text(fe *apierr.Fields, field, v string, max int) string {
	return rules.Apply(fe, field, v, func(s string) (string, string, string) { return rules.Text(s, max) })
}

// adultBirthDate checks a KYC subject's or beneficial owner's birth date: a real past date
// ("past_date") of someone at least rules.AdultAge today ("adult").
func adultBirthDate(fe *apierr.Fields, field string, birth, now time.Time) bool {
	if rule := rules.BirthDate(birth, now); rule != "" {
		fe.Add(field, rule)
		return false
	}
	if !rules.Adult(birth, now) {
		fe.Add(field, "adult")
		return false
	}
	return true
}

// SaveKybData validates the company data and saves it on the caller's KYB case.
func (s *Compliance) SaveKybData(ctx context.Context, req api.SaveKybDataRequestObject) (api.SaveKybDataResponseObject, error) {
	view, err := s.saveCaseData(ctx, "kyb", func(q *db.Queries, caseID int64, _ db.User, now time.Time) error {
		row, err := kybRow(req.Body, now)
		if err != nil {
			return err
		}
		row.CaseID = caseID
		return q.UpsertKYBData(ctx, row)
	})
	if err != nil {
		return nil, err
	}
	return api.SaveKybData200JSONResponse{Code: "KYB_DATA_SAVED", Message: i18n.Msg(ctx, "KYB_DATA_SAVED"), Data: view}, nil
}

// kybRow validates the company data and its beneficial owners (adults, total ownership ≤ 100 %).
func kybRow(b *api.KybDataRequest, now time.Time) (db.UpsertKYBDataParams, error) {
	var fe apierr.Fields
	row := db.UpsertKYBDataParams{UpdatedAt: now}
	row.LegalName = text(&fe, "legal_name", b.LegalName, 200)
	row.RegistrationNumber = text(&fe, "registration_number", b.RegistrationNumber, 100)
	row.Country = rules.Apply(&fe, "country", b.Country, rules.Country)
	owners := make([]api.BeneficialOwner, 0, len(b.BeneficialOwners))
	total := 0
	for i, o := range b.BeneficialOwners {
		f := "beneficial_owners." + strconv.Itoa(i) + "."
		o.FirstName = rules.Apply(&fe, f+"first_name", o.FirstName, rules.Name)
		o.LastName = rules.Apply(&fe, f+"last_name", o.LastName, rules.Name)
		adultBirthDate(&fe, f+"birth_date", o.BirthDate.Time, now)
		o.Nationality = rules.Apply(&fe, f+"nationality", o.Nationality, rules.Nationality)
		total += o.OwnershipPercent
		owners = append(owners, o)
	}
	if total > 100 {
		fe.Add("beneficial_owners", "ownership_total")
	}
	if err := fe.Err(); err != nil {
		return row, err
	}
	raw, err := json.Marshal(owners)
	if err != nil {
		return row, err
	}
	row.BeneficialOwners = raw
	return row, nil
}
