package compliance

import (
	"context"
	"crypto/sha256"
	"fmt"
	"mime/multipart"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/form"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
)

var extensions = map[string]string{"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

// UploadComplianceDocument checks a document by content, stores it unchanged under a new random
// key, then records it on the locked case. A refused document stores nothing; if the record
// cannot be written the object is deleted again.
func (s *Compliance) UploadComplianceDocument(ctx context.Context, req api.UploadComplianceDocumentRequestObject) (api.UploadComplianceDocumentResponseObject, error) {
	p := reqctx.Caller(ctx)
	if err := s.allowUpload(ctx, p.UserID); err != nil {
		return nil, err
	}
	kind, raw, err := readDocument(req.Body)
	if err != nil {
		return nil, err
	}
	caseKind := caseOfDocument[kind]
	// Cheap refusals first, so nothing is stored for a case that cannot take documents (or has
	// no room for this one); the transaction below checks again under the lock.
	if err := s.precheck(ctx, p.UserID, caseKind, kind, int64(len(raw))); err != nil {
		return nil, err
	}
	mime, err := s.checkDocument(ctx, raw)
	if err != nil {
		return nil, err
	}
	suffix, err := secrets.RandomAlnum(24)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("compliance/user_%d/%s_%s.%s", p.UserID, kind, suffix, extensions[mime])
	sum := sha256.Sum256(raw)
	var doc db.ComplianceDocument
	err = s.dels.Upload(ctx, key, raw, mime, func(q *db.Queries) error {
		c, _, err := openCase(ctx, q, p.UserID, caseKind, s.clock.Now)
		if err != nil {
			return err
		}
		if !editable(c.Status) {
			return ErrNotEditable
		}
		if err := s.checkCaps(ctx, q, c.ID, kind, int64(len(raw))); err != nil {
			return err
		}
		now := s.clock.Now()
		doc, err = q.InsertComplianceDocument(ctx, db.InsertComplianceDocumentParams{CaseID: c.ID, Kind: kind, StorageKey: key,
			Sha256: sum[:], MimeType: mime, SizeBytes: int64(len(raw)), CreatedAt: now})
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{Action: "compliance.document.uploaded", UserID: p.UserID,
			SubjectType: "compliance_document", SubjectID: strconv.FormatInt(doc.ID, 10),
			Details: map[string]any{"kind": kind, "mime_type": mime, "size_bytes": len(raw)}})
	})
	if err != nil {
		return nil, err
	}
	return api.UploadComplianceDocument201JSONResponse{Code: "DOCUMENT_UPLOADED", Message: i18n.Msg(ctx, "DOCUMENT_UPLOADED"), Data: documentView(doc)}, nil
}

// precheck refuses, without locking, an upload the case cannot take.
func (s *Compliance) precheck(ctx context.Context, userID int64, caseKind, kind string, size int64) error {
	u, err := s.st.Q.GetUserByID(ctx, userID)
	if err != nil {
		return err
	}
	if requiredCase(u.AccountType) != caseKind {
		return ErrNotApplicable
	}
	cases, err := s.st.Q.ListUserComplianceCases(ctx, userID)
	if err != nil {
		return err
	}
	for _, c := range cases {
		if c.Kind != caseKind {
			continue
		}
		if !editable(c.Status) {
			return ErrNotEditable
		}
		return s.checkCaps(ctx, s.st.Q, c.ID, kind, size)
	}
	return nil
}

// readDocument reads the `kind` and `file` parts, in any order. The file is read up to one byte
// over the limit to tell "too large" apart.
func readDocument(r *multipart.Reader) (string, []byte, error) {
	parts, err := form.Read(r, map[string]int64{"kind": 64, "file": MaxDocumentBytes}, errDocTooLarge)
	if err != nil {
		return "", nil, err
	}
	kind, file := string(parts["kind"]), parts["file"]
	if len(file) > MaxDocumentBytes {
		return "", nil, errDocTooLarge
	}
	var fe apierr.Fields
	if _, ok := caseOfDocument[kind]; !ok {
		if kind == "" {
			fe.Add("kind", "required")
		} else {
			fe.Add("kind", "enum")
		}
	}
	if len(file) == 0 {
		fe.Add("file", "required")
	}
	return kind, file, fe.Err()
}
