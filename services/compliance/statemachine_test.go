package compliance_test

import (
	"fmt"
	"testing"

	"github.com/flowxi/backend/services/compliance"
	"github.com/flowxi/backend/testkit"
)

// The allowed moves of DESIGN §6, written out independently of the service's table.
var designMoves = map[[2]string]bool{
	{"not_started", "submitted"}:       true,
	{"submitted", "under_review"}:      true,
	{"under_review", "approved"}:       true,
	{"under_review", "rejected"}:       true,
	{"under_review", "info_requested"}: true,
	{"info_requested", "submitted"}:    true,
}

// Every pair of statuses (36, self-moves included) is allowed exactly when DESIGN §6 says so.
func TestTransitionTableEveryPair(t *testing.T) {
	if len(compliance.Statuses) != 6 {
		t.Fatalf("statuses: %v", compliance.Statuses)
	}
	allowed := 0
	for _, from := range compliance.Statuses {
		for _, to := range compliance.Statuses {
			want := designMoves[[2]string{from, to}]
			if got := compliance.Allowed(from, to); got != want {
				t.Errorf("%s → %s: allowed=%v, want %v", from, to, got, want)
			}
			if want {
				allowed++
			}
		}
	}
	if allowed != len(designMoves) {
		t.Fatalf("only %d of the %d design moves are between known statuses", allowed, len(designMoves))
	}
	if compliance.Allowed("approved", "bogus") || compliance.Allowed("bogus", "submitted") {
		t.Fatal("unknown statuses must never move")
	}
}

// Through the API: from every status, every action that asks for a status (the user's submit,
// the reviewer's four actions) either moves the case and writes one history row with its actor
// and reason, or answers 409 INVALID_STATE_TRANSITION and changes nothing.
func TestTransitionsThroughTheAPI(t *testing.T) {
	f := newFixture(t)
	actions := []struct {
		name, to string
		user     bool
	}{
		{"submit", "submitted", true},
		{"start_review", "under_review", false},
		{"approve", "approved", false},
		{"reject", "rejected", false},
		{"request_info", "info_requested", false},
	}
	for _, from := range compliance.Statuses {
		for _, a := range actions {
			t.Run(from+"/"+a.name, func(t *testing.T) {
				u := f.CreateUser(testkit.WithoutKYC())
				id := f.caseInStatus(u.ID, "kyc", from)
				f.completeKYC(id)
				var r *testkit.Resp
				if a.user {
					r = f.user(u, "POST", "/api/v1/compliance/kyc/submit", nil)
				} else {
					r = f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/cases/%d/decision", id),
						map[string]any{"action": a.name, "reason": "Because."})
				}
				want := designMoves[[2]string{from, a.to}]
				status := f.str("SELECT status FROM compliance_cases WHERE id = $1", id)
				hist := f.Count("SELECT count(*) FROM compliance_case_history WHERE case_id = $1", id)
				if !want {
					if r.Status != 409 || r.Code() != "INVALID_STATE_TRANSITION" {
						t.Fatalf("want 409 INVALID_STATE_TRANSITION, got %d %s", r.Status, r.Body)
					}
					if status != from || hist != 0 {
						t.Fatalf("refused move changed the case: status %s, %d history rows", status, hist)
					}
					return
				}
				if r.Status != 200 || status != a.to || hist != 1 {
					t.Fatalf("want the move: %d %s; status %s, %d history rows", r.Status, r.Body, status, hist)
				}
				actorType := f.str("SELECT actor_type FROM compliance_case_history WHERE case_id = $1", id)
				if a.user != (actorType == "user") {
					t.Fatalf("actor_type %s for %s", actorType, a.name)
				}
				if f.Count(`SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = $2`, u.ID, "compliance.kyc."+a.to) != 1 {
					t.Fatal("no audit event for the move")
				}
			})
		}
	}
}
