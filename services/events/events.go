// Package events records domain events for internal services, in the transaction of the change
// each one describes (a rolled-back change has none, a committed one exactly one), and serves
// them as a feed in commit order (GET /api/v1/internal/events, tag "Internal events"). The
// payload of every type is a schema of openapi.yaml (<Type>EventData); the envelope is Event.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/kit/ptr"
)

// Type names an event; its payload schema is fixed per (type, version).
type Type string

// The event types. A change that alters a payload's meaning bumps its version (versions).
const (
	TransferCompleted       Type = "transfer.completed"
	TransferFailed          Type = "transfer.failed"
	DepositPosted           Type = "deposit.posted"
	HoldCreated             Type = "hold.created"
	HoldSettled             Type = "hold.settled"
	HoldVoided              Type = "hold.voided"
	HoldExpired             Type = "hold.expired"
	ReversalPosted          Type = "reversal.posted"
	WalletOpened            Type = "wallet.opened"
	WalletStatusChanged     Type = "wallet.status_changed"
	ComplianceCaseSubmitted Type = "compliance.case.submitted"
	ComplianceCaseDecided   Type = "compliance.case.decided"
	UserRestricted          Type = "user.restricted"
	UserRestrictionLifted   Type = "user.restriction_lifted"
	UserBlocked             Type = "user.blocked"
	UserUnblocked           Type = "user.unblocked"
	UserClosed              Type = "user.closed"
	AuthNewDevice           Type = "auth.new_device"
	Auth2FAEnabled          Type = "auth.2fa_enabled"
	Auth2FADisabled         Type = "auth.2fa_disabled"
	AuthPasswordReset       Type = "auth.password_reset"
	// WebhookSubscriptionDisabled: the server disabled a webhook subscription (services/webhooks).
	WebhookSubscriptionDisabled Type = "webhook.subscription.disabled"
)

// versions is the current payload version of every type: the list of types there are.
var versions = map[Type]int32{
	TransferCompleted: 1, TransferFailed: 1, DepositPosted: 1,
	HoldCreated: 1, HoldSettled: 1, HoldVoided: 1, HoldExpired: 1, ReversalPosted: 1,
	WalletOpened: 1, WalletStatusChanged: 1,
	ComplianceCaseSubmitted: 1, ComplianceCaseDecided: 1,
	UserRestricted: 1, UserRestrictionLifted: 1, UserBlocked: 1, UserUnblocked: 1, UserClosed: 1,
	AuthNewDevice: 1, Auth2FAEnabled: 1, Auth2FADisabled: 1, AuthPasswordReset: 1,
	WebhookSubscriptionDisabled: 1,
}

// Types lists every event type.
func Types() []Type {
	out := make([]Type, 0, len(versions))
	for t := range versions {
		out = append(out, t)
	}
	return out
}

// Known reports whether t is an event type.
func Known(t string) bool { _, ok := versions[Type(t)]; return ok }

// Subject types: what an event is about.
const (
	SubjectTransfer       = "transfer" // a ledger transaction of kind transfer
	SubjectDeposit        = "deposit"  // a ledger transaction of kind deposit
	SubjectHold           = "hold"     // a withdrawal: its hold and its outcome
	SubjectReversal       = "reversal" // a ledger transaction of kind reversal
	SubjectWallet         = "wallet"
	SubjectComplianceCase = "compliance_case"
	SubjectUser           = "user"
	// SubjectWebhookSubscription is a webhook subscription (services/webhooks).
	SubjectWebhookSubscription = "webhook_subscription"
)

// Event is one domain event as a service records it.
type Event struct {
	Type        Type
	SubjectType string
	SubjectID   string
	UserID      int64 // the user concerned (0: none)
	Data        any   // the payload, the generated api.<Type>EventData; marshalled to JSON
}

// Row is an event as stored (apart from its id and time): the shape every writer shares, whether
// it inserts one row (Record) or many in one statement (the ledger's posting batch).
type Row struct {
	Type, SubjectType, SubjectID string
	Version                      int32
	UserID                       int64 // 0 stands for NULL
	Data                         string
}

// Build makes ev's row; an unknown type or a payload that does not marshal is an error (a bug).
func Build(ev Event) (Row, error) {
	v, ok := versions[ev.Type]
	if !ok {
		return Row{}, fmt.Errorf("events: unknown type %q", ev.Type)
	}
	if ev.SubjectType == "" || ev.SubjectID == "" {
		return Row{}, fmt.Errorf("events: %s without a subject", ev.Type)
	}
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return Row{}, fmt.Errorf("events: %s payload: %w", ev.Type, err)
	}
	return Row{Type: string(ev.Type), Version: v, SubjectType: ev.SubjectType, SubjectID: ev.SubjectID,
		UserID: ev.UserID, Data: string(data)}, nil
}

// Record inserts ev with q, which must be bound to the transaction of the change ev describes,
// at time now (the change's own time).
func Record(ctx context.Context, q *db.Queries, now time.Time, ev Event) error {
	r, err := Build(ev)
	if err != nil {
		return err
	}
	return q.InsertEvent(ctx, db.InsertEventParams{Type: r.Type, Version: r.Version, OccurredAt: now,
		SubjectType: r.SubjectType, SubjectID: r.SubjectID, UserID: ptr.NonZero(r.UserID), Data: r.Data})
}
