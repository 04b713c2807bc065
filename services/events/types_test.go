package events_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/kit/ptr"
	"github.com/flowxi/backend/services/events"
	"github.com/flowxi/backend/testkit"
)

// attempt is one request (or worker run) of a scene and the status it must get: an HTTP status,
// or for a worker 200 when it did its work and 0 when it found nothing to do.
type attempt struct {
	name string
	want int
	do   func() int
}

// scene is the state one event type needs, prepared by its case: the action that causes the
// event, and attempts that must write no event (refused, or committed without that change).
type scene struct {
	act     attempt
	refused []attempt
	user    int64 // the user the event concerns
}

// typeCase is one row of the table: an event type and how to cause it.
type typeCase struct {
	typ     events.Type
	subject string
	also    []events.Type // other events the same action writes (a closure closes the wallets)
	setup   func(t *testing.T, f *fixture) scene
	check   func(t *testing.T, e stored) // the payload, beyond its schema (optional)
}

func status(r *testkit.Resp) int { return r.Status }

// TestEveryEventType causes every event type once and checks, for each: refused attempts write
// no event; the action rolled back at its commit (after its event was written) leaves none and
// changes nothing (the action then succeeds); the committed action writes exactly one event of
// the type (with its schema-valid payload, its subject and its user) and nothing else.
func TestEveryEventType(t *testing.T) {
	f := newFixture(t)
	cases := eventCases()
	var covered []events.Type
	for _, c := range cases {
		covered = append(covered, c.typ)
	}
	for _, typ := range events.Types() {
		// Caused by a delivery worker, not a request: services/webhooks tests it
		// (TestDisabledAfterContinuousFailure: one event, its audit row, the feed's schema).
		if typ == events.WebhookSubscriptionDisabled {
			continue
		}
		if !slices.Contains(covered, typ) {
			t.Errorf("event type %s has no case", typ)
		}
	}
	defer func() { f.T = t }()
	for _, c := range cases {
		t.Run(string(c.typ), func(t *testing.T) {
			f.T = t
			s := c.setup(t, f)
			cursor := f.settle()
			for _, a := range s.refused {
				if got := a.do(); got != a.want {
					t.Fatalf("%s: status %d, want %d", a.name, got, a.want)
				}
			}
			f.expectNone(t, cursor, "refused")

			restore := f.failCommitsWith(c.typ)
			got := s.act.do()
			restore()
			if got != 500 {
				t.Fatalf("%s rolled back at commit: status %d, want 500", s.act.name, got)
			}
			f.expectNone(t, cursor, "rolled back")

			if got := s.act.do(); got != s.act.want {
				t.Fatalf("%s: status %d, want %d", s.act.name, got, s.act.want)
			}
			f.settle()
			evs, _ := f.since(cursor, "")
			var mine []stored
			var others []events.Type
			for _, e := range evs {
				if e.Type == string(c.typ) {
					mine = append(mine, e)
				} else {
					others = append(others, events.Type(e.Type))
				}
			}
			if len(mine) != 1 || !slices.Equal(others, c.also) {
				t.Fatalf("%s: %d events of its type, others %v (want %v)", s.act.name, len(mine), others, c.also)
			}
			e := mine[0]
			if e.Version != 1 || e.Subject.Type != c.subject || e.Subject.ID == "" || e.UserID != s.user || e.ID <= 0 {
				t.Fatalf("envelope %+v, want subject %s and user %d", e, c.subject, s.user)
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

// expectNone fails when any event was written after cursor.
func (f *fixture) expectNone(t *testing.T, cursor, what string) {
	t.Helper()
	f.settle()
	if evs, _ := f.since(cursor, ""); len(evs) != 0 {
		t.Fatalf("%s: %d events written, first %s %s", what, len(evs), evs[0].Type, evs[0].Data)
	}
}

func eventCases() []typeCase {
	cs := ledgerCases()
	cs = append(cs, complianceCases()...)
	return append(cs, authCases()...)
}

// funded is a user with a EUR wallet holding amount, and another user with a EUR wallet.
func (f *fixture) funded(amount int64) (a, b testkit.User, wa, wb int64) {
	a, b = f.CreateUser(), f.CreateUser()
	wa, wb = f.Wallet(a, "EUR"), f.Wallet(b, "EUR")
	if amount > 0 {
		f.Deposit(wa, amount, "EUR")
	}
	return a, b, wa, wb
}

func (f *fixture) transfer(u testkit.User, from int64, to string, amount int64) func() int {
	return func() int { return f.Transfer(u, from, to, amount, "EUR").Status }
}

func (f *fixture) post(path string, body any) func() int {
	return func() int { return f.internal("POST", path, body).Status }
}

func ledgerCases() []typeCase {
	return []typeCase{
		{typ: events.TransferCompleted, subject: "transfer", setup: func(t *testing.T, f *fixture) scene {
			a, b, wa, wb := f.funded(10_000)
			return scene{user: a.ID, act: attempt{"transfer", 201, f.transfer(a, wa, b.Username, 2500)},
				refused: []attempt{{"from a wallet of another user", 404, f.transfer(a, wb, b.Username, 2500)}}}
		}, check: func(t *testing.T, e stored) {
			d := e.typed.(api.TransferCompletedEvent).Data
			if d.Amount != 2500 || d.Currency != "EUR" || d.ToUserId == 0 || d.FromUserId != e.UserID || d.ToUsername == "" ||
				strconv.FormatInt(d.TransactionId, 10) != e.Subject.ID {
				t.Fatalf("payload %s", e.Data)
			}
		}},
		{typ: events.TransferFailed, subject: "transfer", setup: func(t *testing.T, f *fixture) scene {
			a, b, wa, _ := f.funded(0)
			return scene{user: a.ID, act: attempt{"transfer without funds", 409, f.transfer(a, wa, b.Username, 2500)},
				refused: []attempt{{"invalid amount", 422, f.transfer(a, wa, b.Username, 0)}}}
		}, check: func(t *testing.T, e stored) {
			if d := e.typed.(api.TransferFailedEvent).Data; d.FailureCode != "INSUFFICIENT_FUNDS" || d.Amount != 2500 {
				t.Fatalf("payload %s", e.Data)
			}
		}},
		{typ: events.DepositPosted, subject: "deposit", setup: func(t *testing.T, f *fixture) scene {
			a, _, wa, _ := f.funded(0)
			frozen := f.Wallet(a, "XOF")
			if r := f.internal("PUT", fmt.Sprintf("/api/v1/internal/wallets/%d/status", frozen), map[string]any{"status": "frozen"}); r.Status != 200 {
				t.Fatalf("freeze: %d %s", r.Status, r.Body)
			}
			return scene{user: a.ID,
				act: attempt{"deposit", 201, f.post("/api/v1/internal/deposits",
					map[string]any{"wallet_id": wa, "amount": 700, "currency": "EUR", "external_reference": "dep-" + testkit.RandomHex(4)})},
				refused: []attempt{{"deposit to a frozen wallet (a failed deposit)", 409, f.post("/api/v1/internal/deposits",
					map[string]any{"wallet_id": frozen, "amount": 700, "currency": "XOF", "external_reference": "dep-" + testkit.RandomHex(4)})}}}
		}},
		{typ: events.HoldCreated, subject: "hold", setup: func(t *testing.T, f *fixture) scene {
			a, _, wa, _ := f.funded(1000)
			hold := func(amount int64) func() int {
				return f.post("/api/v1/internal/holds", map[string]any{"wallet_id": wa, "amount": amount, "currency": "EUR", "external_reference": "po-" + testkit.RandomHex(4)})
			}
			return scene{user: a.ID, act: attempt{"hold", 201, hold(400)},
				refused: []attempt{{"hold above the balance (a failed hold)", 409, hold(5000)}}}
		}, check: func(t *testing.T, e stored) {
			if d := e.typed.(api.HoldCreatedEvent).Data; d.ExpiresAt == nil || d.Amount != 400 {
				t.Fatalf("payload %s", e.Data)
			}
		}},
		finishCase(events.HoldSettled, "settle"),
		finishCase(events.HoldVoided, "void"),
		{typ: events.HoldExpired, subject: "hold", setup: func(t *testing.T, f *fixture) scene {
			a, _, wa, _ := f.funded(1000)
			r := f.internal("POST", "/api/v1/internal/holds", map[string]any{"wallet_id": wa, "amount": 300, "currency": "EUR",
				"external_reference": "po-" + testkit.RandomHex(4), "expires_in": 60})
			if r.Status != 201 {
				t.Fatalf("hold: %d %s", r.Status, r.Body)
			}
			expire := func() int {
				n, err := f.Ledger().ExpireHolds(context.Background())
				switch {
				case err != nil:
					return 500
				case n > 0:
					return 200
				}
				return 0
			}
			return scene{user: a.ID,
				act:     attempt{"expiry sweep past expires_at", 200, func() int { f.Clock.Advance(2 * time.Minute); return expire() }},
				refused: []attempt{{"expiry sweep before expires_at", 0, expire}}}
		}},
		{typ: events.ReversalPosted, subject: "reversal", setup: func(t *testing.T, f *fixture) scene {
			a, b, wa, _ := f.funded(10_000)
			r := f.Transfer(a, wa, b.Username, 1000, "EUR")
			id := testkit.DataOf[api.Transaction](t, r).Id
			reverse := func(id, amount int64) func() int {
				return f.post(fmt.Sprintf("/api/v1/internal/transactions/%d/reverse", id), map[string]any{"amount": amount, "reason": "sent by mistake"})
			}
			return scene{user: b.ID, act: attempt{"reverse part of a transfer", 201, reverse(id, 400)},
				refused: []attempt{{"reverse more than the transfer (a failed reversal)", 409, reverse(id, 5000)},
					{"reverse an unknown transaction", 404, reverse(id+1_000_000, 400)}}}
		}, check: func(t *testing.T, e stored) {
			d := e.typed.(api.ReversalPostedEvent).Data
			if d.Amount != 400 || d.FromWalletId == nil || d.ToWalletId == nil || d.ToUserId == nil || d.Reason != "sent by mistake" {
				t.Fatalf("payload %s", e.Data)
			}
		}},
		{typ: events.WalletOpened, subject: "wallet", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			open := func(cur string) func() int {
				return func() int { return f.user(u, "POST", "/api/v1/wallets", map[string]any{"currency": cur}).Status }
			}
			return scene{user: u.ID, act: attempt{"open", 201, open("EUR")},
				refused: []attempt{{"unsupported currency", 422, open("JPY")}}}
		}},
		{typ: events.WalletStatusChanged, subject: "wallet", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			w := f.Wallet(u, "EUR")
			set := func(id int64, st string) func() int {
				return func() int {
					return f.internal("PUT", fmt.Sprintf("/api/v1/internal/wallets/%d/status", id), map[string]any{"status": st}).Status
				}
			}
			return scene{user: u.ID, act: attempt{"freeze", 200, set(w, "frozen")},
				refused: []attempt{{"unknown wallet", 404, set(w+1_000_000, "frozen")}, {"the status it has (no change)", 200, set(w, "active")}}}
		}, check: func(t *testing.T, e stored) {
			if d := e.typed.(api.WalletStatusChangedEvent).Data; d.FromStatus != "active" || d.Status != "frozen" || d.Cause != api.Internal {
				t.Fatalf("payload %s", e.Data)
			}
		}},
	}
}

// finishCase is the case of a hold settled or voided (action: "settle" or "void").
func finishCase(typ events.Type, action string) typeCase {
	return typeCase{typ: typ, subject: "hold", setup: func(t *testing.T, f *fixture) scene {
		a, _, wa, _ := f.funded(1000)
		hold, done := f.Hold(wa, 300, "EUR"), f.Hold(wa, 100, "EUR")
		f.Settle(done)
		finish := func(id int64) func() int { return f.post(fmt.Sprintf("/api/v1/internal/holds/%d/%s", id, action), nil) }
		return scene{user: a.ID, act: attempt{action, 200, finish(hold)},
			refused: []attempt{{action + " a settled hold", 409, finish(done)}, {action + " an unknown hold", 404, finish(hold + 1_000_000)}}}
	}, check: func(t *testing.T, e stored) {
		if d, ok := e.typed.(api.HoldSettledEvent); ok && d.Data.Amount != 300 {
			t.Fatalf("payload %s", e.Data)
		}
	}}
}

func complianceCases() []typeCase {
	cs := []typeCase{
		{typ: events.ComplianceCaseSubmitted, subject: "compliance_case", setup: func(t *testing.T, f *fixture) scene {
			u, other := f.CreateUser(testkit.WithoutKYC()), f.CreateUser(testkit.WithoutKYC())
			f.CompleteKYC(f.ComplianceCase(u.ID, "kyc", "not_started"))
			f.ComplianceCase(other.ID, "kyc", "not_started")
			submit := func(u testkit.User) func() int {
				return func() int { return f.user(u, "POST", "/api/v1/compliance/kyc/submit", nil).Status }
			}
			return scene{user: u.ID, act: attempt{"submit", 200, submit(u)},
				refused: []attempt{{"submit an incomplete case", 409, submit(other)}}}
		}},
	}
	for _, d := range []struct{ action, decision string }{{"approve", "approved"}, {"reject", "rejected"}, {"request_info", "info_requested"}} {
		cs = append(cs, decisionCase(d.action, d.decision))
	}
	return append(cs, accountCases()...)
}

// decisionCase is compliance.case.decided by one of the three decisions.
func decisionCase(action, decision string) typeCase {
	return typeCase{typ: events.ComplianceCaseDecided, subject: "compliance_case", setup: func(t *testing.T, f *fixture) scene {
		u, other := f.CreateUser(testkit.WithoutKYC()), f.CreateUser(testkit.WithoutKYC())
		id, submitted := f.ComplianceCase(u.ID, "kyc", "under_review"), f.ComplianceCase(other.ID, "kyc", "submitted")
		decide := func(id int64, action string) func() int {
			return f.post(fmt.Sprintf("/api/v1/internal/compliance/cases/%d/decision", id), map[string]any{"action": action, "reason": "checked by ops"})
		}
		return scene{user: u.ID, act: attempt{action, 200, decide(id, action)},
			refused: []attempt{{action + " a case not under review", 409, decide(submitted, action)},
				{"start a review (no decision yet)", 200, decide(submitted, "start_review")}}}
	}, check: func(t *testing.T, e stored) {
		if d := e.typed.(api.ComplianceCaseDecidedEvent).Data; string(d.Decision) != decision || ptr.Value(d.Reason) != "checked by ops" {
			t.Fatalf("payload %s", e.Data)
		}
	}}
}

func accountCases() []typeCase {
	path := func(id int64, op string) string {
		return fmt.Sprintf("/api/v1/internal/compliance/users/%d/%s", id, op)
	}
	reason := map[string]any{"reason": "ops decision"}
	return []typeCase{
		{typ: events.UserRestricted, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			return scene{user: u.ID, act: attempt{"restrict", 201, f.post(path(u.ID, "restrictions"), reason)},
				refused: []attempt{{"restrict an unknown user", 404, f.post(path(u.ID+1_000_000, "restrictions"), reason)}}}
		}},
		{typ: events.UserRestrictionLifted, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			r := f.internal("POST", path(u.ID, "restrictions"), reason)
			rid := testkit.DataOf[api.Restriction](t, r).Id
			lift := func(rid int64) func() int {
				return f.post(fmt.Sprintf("%s/%d/lift", path(u.ID, "restrictions"), rid), reason)
			}
			return scene{user: u.ID, act: attempt{"lift", 200, lift(rid)},
				refused: []attempt{{"lift an unknown restriction", 404, lift(rid + 1_000_000)}}}
		}},
		{typ: events.UserBlocked, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u, blocked := f.CreateUser(), f.CreateUser()
			f.SetUserStatus(blocked.ID, "blocked")
			return scene{user: u.ID, act: attempt{"block", 200, f.post(path(u.ID, "block"), reason)},
				refused: []attempt{{"block a blocked user", 409, f.post(path(blocked.ID, "block"), reason)}}}
		}},
		{typ: events.UserUnblocked, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u, active := f.CreateUser(), f.CreateUser()
			f.SetUserStatus(u.ID, "blocked")
			return scene{user: u.ID, act: attempt{"unblock", 200, f.post(path(u.ID, "unblock"), reason)},
				refused: []attempt{{"unblock an active user", 409, f.post(path(active.ID, "unblock"), reason)}}}
		}},
		{typ: events.UserClosed, subject: "user", also: []events.Type{events.WalletStatusChanged}, setup: func(t *testing.T, f *fixture) scene {
			u, rich, _, _ := f.funded(0)
			f.Deposit(f.Wallet(rich, "XOF"), 5, "XOF")
			return scene{user: u.ID, act: attempt{"close", 200, f.post(path(u.ID, "close"), reason)},
				refused: []attempt{{"close an account holding money", 409, f.post(path(rich.ID, "close"), reason)}}}
		}},
	}
}

func authCases() []typeCase {
	return []typeCase{
		{typ: events.AuthNewDevice, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			login := func(pw, device string) func() int {
				return func() int {
					return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{
						"email": u.Email, "password": pw, "device_id": device, "device_type": "web", "device_name": "Browser"}}).Status
				}
			}
			return scene{user: u.ID, act: attempt{"login from a new device", 200, login(u.Password, "dev-"+testkit.RandomHex(4))},
				refused: []attempt{{"wrong password", 401, login("Wrong-Password-42", "dev-"+testkit.RandomHex(4))},
					{"login from a known device", 200, login(u.Password, u.DeviceID)}}}
		}},
		{typ: events.Auth2FAEnabled, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			act, refused := twofaAttempts(f, u, "enable", pendingSecret(t, f, u))
			return scene{user: u.ID, act: act, refused: refused}
		}},
		{typ: events.Auth2FADisabled, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			secret := pendingSecret(t, f, u)
			if r := f.user(u, "POST", "/api/v1/auth/2fa/enable", map[string]any{"code": testkit.TOTP(t, secret, f.Clock.Now())}); r.Status != 200 {
				t.Fatalf("enable: %d %s", r.Status, r.Body)
			}
			f.FreshTOTPStep()
			act, refused := twofaAttempts(f, u, "disable", secret)
			return scene{user: u.ID, act: act, refused: refused}
		}},
		supportResetCase(),
		{typ: events.AuthPasswordReset, subject: "user", setup: func(t *testing.T, f *fixture) scene {
			u := f.CreateUser()
			if r := f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/password/forgot", JSON: map[string]any{"email": u.Email}}); r.Status != 200 {
				t.Fatalf("forgot: %d %s", r.Status, r.Body)
			}
			code := f.mb.Next(u.Email).OTP()
			reset := func(code string) func() int {
				pw := "Quartz-Meadow-Lantern-7"
				return func() int {
					return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/password/reset",
						JSON: map[string]any{"email": u.Email, "code": code, "password": pw, "password_confirmation": pw}}).Status
				}
			}
			wrong := testkit.WrongCode(code)
			return scene{user: u.ID, act: attempt{"reset", 200, reset(code)},
				refused: []attempt{{"reset with a wrong code", 403, reset(wrong)}}}
		}},
	}
}

// pendingSecret reads u's pending TOTP secret from the 2FA status (as a client does).
func pendingSecret(t *testing.T, f *fixture, u testkit.User) string {
	t.Helper()
	st := f.user(u, "GET", "/api/v1/auth/2fa/status", nil)
	uri, err := url.Parse(ptr.Value(testkit.Decode[api.TwofaStatusResponse](t, st).OtpauthUri))
	if err != nil {
		t.Fatal(err)
	}
	f.FreshTOTPStep()
	return uri.Query().Get("secret")
}

// twofaAttempts are a 2FA enable or disable (op) of u with a right code, and with a wrong one.
func twofaAttempts(f *fixture, u testkit.User, op, secret string) (attempt, []attempt) {
	call := func(code func() string) func() int {
		return func() int { return f.user(u, "POST", "/api/v1/auth/2fa/"+op, map[string]any{"code": code()}).Status }
	}
	return attempt{op, 200, call(func() string { return testkit.TOTP(f.T, secret, f.Clock.Now()) })},
		[]attempt{{op + " with a wrong code", 403, call(func() string { return f.WrongTOTP(secret) })}}
}

// supportResetCase is auth.2fa_disabled by support's four-eyes reset (method support): one key
// asks, the same key's approval is refused and writes nothing, a second key's approval turns 2FA
// off (and revokes the sessions) with exactly one event.
func supportResetCase() typeCase {
	return typeCase{typ: events.Auth2FADisabled, subject: "user", setup: func(t *testing.T, f *fixture) scene {
		n := testkit.RandomHex(4)
		asker, approver := f.CreateInternalKey("support-a-"+n, "support:*"), f.CreateInternalKey("support-b-"+n, "support:*")
		u := f.CreateUser()
		f.Enroll2FA(u)
		support := func(key, path string) func() int {
			return func() int {
				return f.Do(testkit.Req{Method: "POST", Path: path, JSON: map[string]any{"reason": "identity checked by video"},
					Headers: map[string]string{"X-Internal-Key": key}}).Status
			}
		}
		r := f.Do(testkit.Req{Method: "POST", Path: fmt.Sprintf("/api/v1/internal/support/users/%d/twofa-reset", u.ID),
			JSON: map[string]any{"reason": "lost phone"}, Headers: map[string]string{"X-Internal-Key": asker}})
		if r.Status != 201 {
			t.Fatalf("request a reset: %d %s", r.Status, r.Body)
		}
		approve := fmt.Sprintf("/api/v1/internal/support/twofa-resets/%d/approve", testkit.Decode[api.TwofaResetResponse](t, r).Data.Id)
		return scene{user: u.ID, act: attempt{"approve with a second key", 200, support(approver, approve)},
			refused: []attempt{{"approve with the requesting key", 403, support(asker, approve)},
				{"approve an unknown reset", 404, support(approver, "/api/v1/internal/support/twofa-resets/999999999/approve")}}}
	}, check: func(t *testing.T, e stored) {
		if d := e.typed.(api.Auth2faDisabledEvent).Data; string(d.Method) != "support" {
			t.Fatalf("payload %s", e.Data)
		}
	}}
}
