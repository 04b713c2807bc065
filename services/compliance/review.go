package compliance

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
	"github.com/flowxi/backend/kit/rules"
)

// actionTarget maps a reviewer's action to the status it asks for; the transition table decides
// whether the move is allowed.
var actionTarget = map[api.CaseDecisionRequestAction]string{
	api.StartReview: StatusUnderReview,
	api.Approve:     StatusApproved,
	api.Reject:      StatusRejected,
	api.RequestInfo: StatusInfoRequested,
}

// ListComplianceCases returns one keyset page of the cases in a status, oldest first.
func (s *Compliance) ListComplianceCases(ctx context.Context, req api.ListComplianceCasesRequestObject) (api.ListComplianceCasesResponseObject, error) {
	limit := page.Limit(req.Params.Limit, 20)
	after, err := page.After(req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Q.ListComplianceCasesByStatus(ctx, db.ListComplianceCasesByStatusParams{
		Status: string(req.Params.Status), AfterID: after, Lim: int32(limit + 1)})
	if err != nil {
		return nil, fmt.Errorf("compliance: list cases: %w", err)
	}
	resp := api.ListComplianceCases200JSONResponse{Code: "COMPLIANCE_CASES_OK", Message: i18n.Msg(ctx, "COMPLIANCE_CASES_OK"), Data: []api.ComplianceCaseSummary{}}
	rows, resp.NextCursor = page.Cut(rows, limit, func(r db.ListComplianceCasesByStatusRow) int64 { return r.ID })
	for _, r := range rows {
		resp.Data = append(resp.Data, summary(db.ComplianceCase{ID: r.ID, UserID: r.UserID, Kind: r.Kind, Status: r.Status,
			SubmittedAt: r.SubmittedAt, DecidedAt: r.DecidedAt, UpdatedAt: r.UpdatedAt}, r.AccountType))
	}
	return resp, nil
}

func summary(c db.ComplianceCase, accountType string) api.ComplianceCaseSummary {
	return api.ComplianceCaseSummary{Id: c.ID, UserId: c.UserID, Kind: api.CaseKind(c.Kind), Status: api.CaseStatus(c.Status),
		AccountType: api.AccountType(accountType), SubmittedAt: apitime.FormatPtr(c.SubmittedAt), DecidedAt: apitime.FormatPtr(c.DecidedAt), UpdatedAt: apitime.Format(c.UpdatedAt)}
}

// GetComplianceCase returns a case with its data, documents (signed URLs) and history.
func (s *Compliance) GetComplianceCase(ctx context.Context, req api.GetComplianceCaseRequestObject) (api.GetComplianceCaseResponseObject, error) {
	c, err := s.st.Q.GetComplianceCaseByID(ctx, req.Id)
	if err != nil {
		if pg.IsNotFound(err) {
			return nil, ErrCaseNotFound
		}
		return nil, fmt.Errorf("compliance: case: %w", err)
	}
	d := api.ComplianceCaseDetail{Id: c.ID, UserId: c.UserID, Kind: api.CaseKind(c.Kind), Status: api.CaseStatus(c.Status),
		AccountType: api.AccountType(c.AccountType), UserStatus: api.AccountStatus(c.UserStatus), DecisionReason: c.DecisionReason,
		SubmittedAt: apitime.FormatPtr(c.SubmittedAt), DecidedAt: apitime.FormatPtr(c.DecidedAt), Documents: []api.ReviewDocument{}, History: []api.CaseTransition{}}
	if err := s.caseData(ctx, &d); err != nil {
		return nil, err
	}
	docs, err := s.st.Q.ListComplianceDocuments(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("compliance: documents: %w", err)
	}
	for _, doc := range docs {
		url, err := s.objects.SignedURL(ctx, doc.StorageKey, DocumentURLTTL)
		if err != nil {
			return nil, fmt.Errorf("compliance: signed url: %w", err)
		}
		d.Documents = append(d.Documents, api.ReviewDocument{Id: doc.ID, Kind: api.DocumentKind(doc.Kind), MimeType: doc.MimeType,
			SizeBytes: doc.SizeBytes, Sha256: hex.EncodeToString(doc.Sha256), CreatedAt: apitime.Format(doc.CreatedAt), Url: url})
	}
	hist, err := s.st.Q.ListComplianceCaseHistory(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("compliance: history: %w", err)
	}
	for _, h := range hist {
		d.History = append(d.History, api.CaseTransition{FromStatus: api.CaseStatus(h.FromStatus), ToStatus: api.CaseStatus(h.ToStatus),
			ActorType: api.CaseTransitionActorType(h.ActorType), ActorId: h.ActorID, Reason: h.Reason, OccurredAt: apitime.Format(h.OccurredAt)})
	}
	return api.GetComplianceCase200JSONResponse{Code: "COMPLIANCE_CASE_OK", Message: i18n.Msg(ctx, "COMPLIANCE_CASE_OK"), Data: d}, nil
}

// caseData fills the submitted personal or company data of a case, when there is some.
func (s *Compliance) caseData(ctx context.Context, d *api.ComplianceCaseDetail) error {
	if d.Kind == "kyc" {
		k, err := s.st.Q.GetKYCData(ctx, d.Id)
		if pg.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("compliance: kyc data: %w", err)
		}
		pd := api.KycPersonalData{FirstName: k.FirstName, LastName: k.LastName, BirthDate: openapi_types.Date{Time: k.BirthDate},
			Nationality: k.Nationality, Country: k.Country}
		pd.Address.Line1, pd.Address.Line2, pd.Address.City, pd.Address.PostalCode = k.AddressLine1, k.AddressLine2, k.City, k.PostalCode
		d.PersonalData = &pd
		return nil
	}
	k, err := s.st.Q.GetKYBData(ctx, d.Id)
	if pg.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("compliance: kyb data: %w", err)
	}
	cd := api.KybCompanyData{LegalName: k.LegalName, RegistrationNumber: k.RegistrationNumber, Country: k.Country}
	if err := json.Unmarshal(k.BeneficialOwners, &cd.BeneficialOwners); err != nil {
		return fmt.Errorf("compliance: beneficial owners: %w", err)
	}
	d.CompanyData = &cd
	return nil
}

// DecideComplianceCase applies a reviewer's action through the transition table and e-mails the
// user on approve, reject and request_info, in the same transaction.
func (s *Compliance) DecideComplianceCase(ctx context.Context, req api.DecideComplianceCaseRequestObject) (api.DecideComplianceCaseResponseObject, error) {
	to := actionTarget[req.Body.Action]
	var reason *string
	if req.Body.Reason != nil {
		r, err := rules.Reason(*req.Body.Reason, rules.MaxReasonRunes)
		if err != nil {
			return nil, err
		}
		reason = &r
	}
	if reason == nil && (to == StatusRejected || to == StatusInfoRequested) {
		return nil, apierr.Invalid("reason", "required")
	}
	var out api.ComplianceCaseSummary
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		c, err := q.GetComplianceCaseByIDForUpdate(ctx, req.Id)
		if err != nil {
			if pg.IsNotFound(err) {
				return ErrCaseNotFound
			}
			return err
		}
		if c, err = s.transition(ctx, q, c, to, reason); err != nil {
			return err
		}
		u, err := q.GetUserByID(ctx, c.UserID)
		if err != nil {
			return err
		}
		if to != StatusUnderReview {
			data := map[string]any{"Decision": to, "Kind": c.Kind, "Reason": ""}
			if reason != nil {
				data["Reason"] = *reason
			}
			if err := s.notify(ctx, q, u, "compliance_decision", data); err != nil {
				return err
			}
		}
		out = summary(c, u.AccountType)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.DecideComplianceCase200JSONResponse{Code: "CASE_UPDATED", Message: i18n.Msg(ctx, "CASE_UPDATED"), Data: out}, nil
}
