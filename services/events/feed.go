package events

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/page"
	"github.com/flowxi/backend/kit/ptr"
)

// ScopeRead is the internal key scope of the feed.
const ScopeRead = "events:read"

// ErrCursorExpired is 410: events after the cursor were deleted by retention.
var ErrCursorExpired = apierr.New(http.StatusGone, "EVENT_CURSOR_EXPIRED")

// Feed serves the feed (the operation of tag "Internal events").
type Feed struct {
	st *pg.Store
}

// New builds the feed service.
func New(st *pg.Store) *Feed { return &Feed{st: st} }

// wire is an event as the feed and the spec's Event schema show it.
type wire struct {
	ID         int64           `json:"id"`
	Type       string          `json:"type"`
	Version    int32           `json:"version"`
	OccurredAt string          `json:"occurred_at"`
	Subject    subject         `json:"subject"`
	UserID     int64           `json:"user_id"`
	Data       json.RawMessage `json:"data"`
}

type subject struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ListEvents returns the page of the feed after the cursor, in feed (commit) order.
func (s *Feed) ListEvents(ctx context.Context, req api.ListEventsRequestObject) (api.ListEventsResponseObject, error) {
	limit := page.Limit(req.Params.Limit, 100)
	after, err := page.AfterOn("after", req.Params.After) // none: the start of the feed
	if err != nil {
		return nil, err
	}
	var types []string
	if req.Params.Types != nil {
		for _, t := range *req.Params.Types {
			types = append(types, string(t))
		}
	}
	rows, err := s.st.Q.ListEventFeed(ctx, db.ListEventFeedParams{After: after, Types: types, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, fmt.Errorf("events: feed: %w", err)
	}
	// Read after the page: a prune that committed before the page was read shows here.
	head, err := s.st.Q.GetEventFeedHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("events: feed head: %w", err)
	}
	if req.Params.After != nil && after < head.PrunedThrough {
		return nil, ErrCursorExpired
	}
	if after > head.Seq {
		return nil, apierr.Invalid("after", "invalid") // a cursor this feed never gave
	}
	resp := api.ListEvents200JSONResponse{Code: "EVENTS_OK", Message: i18n.Msg(ctx, "EVENTS_OK"), Data: []api.Event{},
		NextCursor: strconv.FormatInt(max(after, head.PrunedThrough), 10), HasMore: len(rows) > limit}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	for _, r := range rows {
		e, err := eventOf(r)
		if err != nil {
			return nil, err
		}
		resp.Data = append(resp.Data, e)
		resp.NextCursor = strconv.FormatInt(r.Seq, 10)
	}
	return resp, nil
}

// MarshalRow is the JSON of a stored event exactly as the feed shows it (the spec's Event): what
// a webhook body carries too, byte for byte.
func MarshalRow(r db.ListEventFeedRow) ([]byte, error) {
	return json.Marshal(wire{ID: r.ID, Type: r.Type, Version: r.Version, OccurredAt: apitime.Format(r.OccurredAt),
		Subject: subject{Type: r.SubjectType, ID: r.SubjectID}, UserID: ptr.Value(r.UserID), Data: r.Data})
}

// eventOf renders a stored event as the spec's Event (the union decodes its own JSON).
func eventOf(r db.ListEventFeedRow) (api.Event, error) {
	b, err := MarshalRow(r)
	var e api.Event
	if err == nil {
		err = e.UnmarshalJSON(b)
	}
	if err != nil {
		return e, fmt.Errorf("events: render %d: %w", r.ID, err)
	}
	return e, nil
}
