package compliance

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/apierr"
)

// Default caps on what one account can store (openapi.yaml, uploadComplianceDocument).
const (
	DefaultVersionsPerKind = 10
	DefaultBytesPerCase    = 50 << 20
	DefaultUploadsPerHour  = 20
)

// Limits bounds the documents of one account: versions of each kind per case, bytes per case
// (every version counts), and upload attempts per user. Zero values take the defaults.
type Limits struct {
	VersionsPerKind int
	BytesPerCase    int64
	Uploads         ratelimit.Limit
}

func (l Limits) withDefaults() Limits {
	if l.VersionsPerKind <= 0 {
		l.VersionsPerKind = DefaultVersionsPerKind
	}
	if l.BytesPerCase <= 0 {
		l.BytesPerCase = DefaultBytesPerCase
	}
	if l.Uploads.Rate <= 0 {
		l.Uploads = ratelimit.Per(DefaultUploadsPerHour, time.Hour)
	}
	return l
}

var (
	errVersionsExceeded = apierr.New(http.StatusConflict, "DOCUMENT_VERSIONS_EXCEEDED")
	errCaseStorageFull  = apierr.New(http.StatusConflict, "CASE_STORAGE_EXCEEDED")
)

// allowUpload counts one upload attempt of the user, before the file is read.
func (s *Compliance) allowUpload(ctx context.Context, userID int64) error {
	if s.limiter == nil {
		return nil
	}
	return s.limiter.Allow(ctx, "document-upload", s.limits.Uploads, strconv.FormatInt(userID, 10))
}

// checkCaps refuses a document of kind and size that the case's documents leave no room for.
func (s *Compliance) checkCaps(ctx context.Context, q *db.Queries, caseID int64, kind string, size int64) error {
	docs, err := q.ListComplianceDocuments(ctx, caseID)
	if err != nil {
		return err
	}
	versions, total := 0, size
	for _, d := range docs {
		total += d.SizeBytes
		if d.Kind == kind {
			versions++
		}
	}
	if versions >= s.limits.VersionsPerKind {
		return errVersionsExceeded
	}
	if total > s.limits.BytesPerCase {
		return errCaseStorageFull
	}
	return nil
}
