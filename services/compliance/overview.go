package compliance

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
)

// requiredDocs are the document kinds each case needs before submission.
var requiredDocs = map[string][]string{
	"kyc": {"identity_document", "proof_of_address", "selfie"},
	"kyb": {"company_registration", "beneficial_owner_declaration"},
}

// caseOfDocument is the case a document kind belongs to.
var caseOfDocument = map[string]string{
	"identity_document": "kyc", "proof_of_address": "kyc", "selfie": "kyc",
	"company_registration": "kyb", "beneficial_owner_declaration": "kyb",
}

// requiredCase is the case an account type must have approved to send money.
func requiredCase(accountType string) string {
	if accountType == "business" {
		return "kyb"
	}
	return "kyc"
}

// GetCompliance returns the caller's compliance overview.
func (s *Compliance) GetCompliance(ctx context.Context, _ api.GetComplianceRequestObject) (api.GetComplianceResponseObject, error) {
	p := reqctx.Caller(ctx)
	o, err := s.overview(ctx, s.st.Q, p.UserID)
	if err != nil {
		return nil, err
	}
	return api.GetCompliance200JSONResponse{Code: "COMPLIANCE_OK", Message: i18n.Msg(ctx, "COMPLIANCE_OK"), Data: o}, nil
}

// SetComplianceAccountType chooses personal (KYC) or business (KYB) while nothing was submitted.
func (s *Compliance) SetComplianceAccountType(ctx context.Context, req api.SetComplianceAccountTypeRequestObject) (api.SetComplianceAccountTypeResponseObject, error) {
	p := reqctx.Caller(ctx)
	want := string(req.Body.AccountType)
	var o api.ComplianceOverview
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		u, err := q.GetUserByIDForUpdate(ctx, p.UserID)
		if err != nil {
			return err
		}
		cases, err := q.ListUserComplianceCases(ctx, p.UserID)
		if err != nil {
			return err
		}
		for _, c := range cases {
			if c.Status != StatusNotStarted {
				return ErrTypeLocked
			}
		}
		if u.AccountType != want {
			now := s.clock.Now()
			if err := q.SetUserAccountType(ctx, db.SetUserAccountTypeParams{ID: p.UserID, AccountType: want, UpdatedAt: now}); err != nil {
				return err
			}
			if err := audit.Record(ctx, q, now, audit.Event{Action: "compliance.account_type.changed", UserID: p.UserID,
				SubjectType: "user", SubjectID: strconv.FormatInt(p.UserID, 10), Details: map[string]any{"from": u.AccountType, "to": want}}); err != nil {
				return err
			}
		}
		o, err = s.overview(ctx, q, p.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.SetComplianceAccountType200JSONResponse{Code: "ACCOUNT_TYPE_UPDATED", Message: i18n.Msg(ctx, "ACCOUNT_TYPE_UPDATED"), Data: o}, nil
}

// overview builds the user's view: the required case (even when never started), any other case
// that exists, active restrictions without their reasons.
func (s *Compliance) overview(ctx context.Context, q *db.Queries, userID int64) (api.ComplianceOverview, error) {
	u, err := q.GetUserByID(ctx, userID)
	if err != nil {
		return api.ComplianceOverview{}, fmt.Errorf("compliance: user: %w", err)
	}
	req := requiredCase(u.AccountType)
	rows, err := q.ListUserComplianceCases(ctx, userID)
	if err != nil {
		return api.ComplianceOverview{}, fmt.Errorf("compliance: cases: %w", err)
	}
	o := api.ComplianceOverview{AccountType: api.AccountType(u.AccountType), RequiredCase: api.CaseKind(req),
		Cases: []api.ComplianceCase{}, Restrictions: []api.UserRestriction{}}
	byKind := map[string]db.ComplianceCase{}
	for _, c := range rows {
		byKind[c.Kind] = c
	}
	reqStatus := StatusNotStarted
	for _, kind := range []string{"kyc", "kyb"} {
		c, ok := byKind[kind]
		if !ok && kind != req {
			continue
		}
		if !ok {
			c = db.ComplianceCase{Kind: kind, Status: StatusNotStarted}
		}
		v, err := s.caseView(ctx, q, c, kind == req)
		if err != nil {
			return o, err
		}
		if kind == req {
			reqStatus = c.Status
		}
		o.Cases = append(o.Cases, v)
	}
	rs, err := q.ListActiveRestrictions(ctx, userID)
	if err != nil {
		return o, fmt.Errorf("compliance: restrictions: %w", err)
	}
	for _, r := range rs {
		o.Restrictions = append(o.Restrictions, api.UserRestriction{Id: r.ID, CreatedAt: apitime.Format(r.CreatedAt)})
	}
	o.CanSend = reqStatus == StatusApproved && len(rs) == 0
	return o, nil
}

// caseView renders a case for its owner, with what is still missing. c.ID == 0 is a case that
// has no row yet.
func (s *Compliance) caseView(ctx context.Context, q *db.Queries, c db.ComplianceCase, required bool) (api.ComplianceCase, error) {
	v := api.ComplianceCase{Kind: api.CaseKind(c.Kind), Status: api.CaseStatus(c.Status), Required: required,
		DecisionReason: c.DecisionReason, SubmittedAt: apitime.FormatPtr(c.SubmittedAt), DecidedAt: apitime.FormatPtr(c.DecidedAt),
		Documents: []api.ComplianceDocument{}}
	var docs []db.ComplianceDocument
	if c.ID != 0 {
		var err error
		if docs, err = q.ListComplianceDocuments(ctx, c.ID); err != nil {
			return v, fmt.Errorf("compliance: documents: %w", err)
		}
	}
	for _, d := range docs {
		v.Documents = append(v.Documents, documentView(d))
	}
	missing, err := s.missing(ctx, q, c, docs)
	if err != nil {
		return v, err
	}
	v.Missing = missing
	return v, nil
}

// missing lists what a case still needs before it can be submitted: its data, then each
// required document kind with no upload.
func (s *Compliance) missing(ctx context.Context, q *db.Queries, c db.ComplianceCase, docs []db.ComplianceDocument) ([]string, error) {
	out := []string{}
	hasData := false
	if c.ID != 0 {
		var err error
		if c.Kind == "kyc" {
			_, err = q.GetKYCData(ctx, c.ID)
		} else {
			_, err = q.GetKYBData(ctx, c.ID)
		}
		switch {
		case err == nil:
			hasData = true
		case !pg.IsNotFound(err):
			return nil, fmt.Errorf("compliance: case data: %w", err)
		}
	}
	if !hasData {
		if c.Kind == "kyc" {
			out = append(out, "personal_data")
		} else {
			out = append(out, "company_data")
		}
	}
	have := map[string]bool{}
	for _, d := range docs {
		have[d.Kind] = true
	}
	for _, k := range requiredDocs[c.Kind] {
		if !have[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

func documentView(d db.ComplianceDocument) api.ComplianceDocument {
	return api.ComplianceDocument{Id: d.ID, Kind: api.DocumentKind(d.Kind), MimeType: api.ComplianceDocumentMimeType(d.MimeType),
		SizeBytes: d.SizeBytes, Sha256: hex.EncodeToString(d.Sha256), CreatedAt: apitime.Format(d.CreatedAt)}
}

// openCase returns the caller's case of kind, created if needed and locked FOR UPDATE, after
// checking that it is the case of their account type.
func openCase(ctx context.Context, q *db.Queries, userID int64, kind string, now timeNow) (db.ComplianceCase, db.User, error) {
	u, err := q.GetUserByIDForUpdate(ctx, userID)
	if err != nil {
		return db.ComplianceCase{}, u, err
	}
	if requiredCase(u.AccountType) != kind {
		return db.ComplianceCase{}, u, ErrNotApplicable
	}
	if err := q.EnsureComplianceCase(ctx, db.EnsureComplianceCaseParams{UserID: userID, Kind: kind, Now: now()}); err != nil {
		return db.ComplianceCase{}, u, err
	}
	c, err := q.GetComplianceCaseForUpdate(ctx, db.GetComplianceCaseForUpdateParams{UserID: userID, Kind: kind})
	return c, u, err
}
