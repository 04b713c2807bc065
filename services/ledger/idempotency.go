package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/i18n"
)

// requestHash fingerprints a money request: the operation and every field that decides its
// effect, unambiguously separated. The same key with another fingerprint is IDEMPOTENCY_KEY_REUSED.
func requestHash(op string, fields ...string) []byte {
	h := sha256.New()
	h.Write([]byte(op))
	for _, f := range fields {
		h.Write([]byte{0x1f})
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{0x1e})
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

// storedOr is used when a request is refused before it reaches the engine (wallet not found,
// step-up missing, hold already final): if its key already holds an outcome — the request was
// accepted earlier and this is a retry — that outcome is replayed instead of the refusal.
func (s *Service) storedOr(ctx context.Context, caller, key string, reqHash []byte, refusal error) (outcome, error) {
	recs, err := s.st.Q.GetIdempotencyRecords(ctx, db.GetIdempotencyRecordsParams{Callers: []string{caller}, Keys: []string{key}, Now: s.clock.Now()})
	if err != nil {
		return outcome{}, fmt.Errorf("ledger: idempotency lookup: %w", err)
	}
	if len(recs) == 0 {
		return outcome{}, refusal
	}
	r := recs[0]
	o := replayOf(r.RequestHash, r.ResponseStatus, r.ResponseCode, r.ResponseData, reqHash)
	return o, o.err
}

// result is an outcome ready for a response object.
type result struct {
	status int
	body   api.TransactionResponse
	replay *string
}

// resultOf decodes an outcome (fresh or replayed) and localizes its message for this request.
func resultOf(ctx context.Context, o outcome) (result, error) {
	if o.err != nil {
		return result{}, o.err
	}
	var tx api.Transaction
	if err := json.Unmarshal(o.data, &tx); err != nil {
		return result{}, fmt.Errorf("ledger: stored outcome: %w", err)
	}
	v := strconv.FormatBool(o.replayed)
	return result{status: o.status, body: api.TransactionResponse{Code: o.code, Message: i18n.Msg(ctx, o.code), Data: tx}, replay: &v}, nil
}

// rejection is the 409 body of a refused movement.
func (r result) rejection() api.MoneyRejectedJSONResponse {
	tx := r.body.Data
	return api.MoneyRejectedJSONResponse{
		Body:    api.MoneyRejection{Code: api.Code(r.body.Code), Message: r.body.Message, Data: &tx},
		Headers: api.MoneyRejectedResponseHeaders{IdempotentReplayed: r.replay},
	}
}

// forbidden is the 403 body of a movement refused by the money policy.
func (r result) forbidden() api.MoneyForbiddenJSONResponse {
	rej := r.rejection()
	return api.MoneyForbiddenJSONResponse{Body: rej.Body, Headers: api.MoneyForbiddenResponseHeaders{IdempotentReplayed: rej.Headers.IdempotentReplayed}}
}

// callerOfUser and callerOfKey scope idempotency keys to their owner.
func callerOfUser(id int64) string { return "u:" + strconv.FormatInt(id, 10) }
func callerOfKey(id int64) string  { return "k:" + strconv.FormatInt(id, 10) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func trimmed(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}
