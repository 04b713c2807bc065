package compliance

import (
	"context"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/kit/rules"
)

// SubmitComplianceCase moves the caller's case to submitted once nothing is missing. A KYC is
// re-checked for age on the day of submission.
func (s *Compliance) SubmitComplianceCase(ctx context.Context, req api.SubmitComplianceCaseRequestObject) (api.SubmitComplianceCaseResponseObject, error) {
	p := reqctx.Caller(ctx)
	kind := string(req.Kind)
	var view api.ComplianceCase
	err := s.st.Tx(ctx, func(q *db.Queries) error {
		c, _, err := openCase(ctx, q, p.UserID, kind, s.clock.Now)
		if err != nil {
			return err
		}
		// The state machine speaks first: submitting a case under review is a refused
		// transition whatever it contains.
		if !Allowed(c.Status, StatusSubmitted) {
			return ErrInvalidTransition
		}
		docs, err := q.ListComplianceDocuments(ctx, c.ID)
		if err != nil {
			return err
		}
		missing, err := s.missing(ctx, q, c, docs)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return ErrIncomplete
		}
		if kind == "kyc" {
			d, err := q.GetKYCData(ctx, c.ID)
			if err != nil {
				return err
			}
			if !rules.Adult(d.BirthDate, s.clock.Now()) {
				return apierr.Invalid("birth_date", "adult")
			}
		}
		if c, err = s.transition(ctx, q, c, StatusSubmitted, nil); err != nil {
			return err
		}
		view, err = s.caseView(ctx, q, c, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.SubmitComplianceCase200JSONResponse{Code: "CASE_SUBMITTED", Message: i18n.Msg(ctx, "CASE_SUBMITTED"), Data: view}, nil
}
