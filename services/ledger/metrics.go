package ledger

import (
	"encoding/json"

	"github.com/flowxi/backend/infra/metrics"
)

// countPosting counts a transaction the batch just committed (flowxi_ledger_postings_total, by
// kind and status). Replays, refusals that recorded nothing and in-flight keys are not postings.
func countPosting(o outcome) {
	if o.err != nil || o.replayed || o.data == nil {
		return
	}
	var tx struct{ Kind, Status string }
	if json.Unmarshal(o.data, &tx) == nil && tx.Kind != "" {
		metrics.LedgerPostings.WithLabelValues(tx.Kind, tx.Status).Inc()
	}
}
