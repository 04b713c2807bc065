package identity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/identity/challenge"
	"github.com/flowxi/backend/services/identity/sessions"
	"github.com/flowxi/backend/services/identity/tokens"
)

// NormalizeEmail trims and lower-cases an address before any lookup or rate-limit key.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Login checks email + password and either issues the device-bound token (outcome A) or, when
// the user has 2FA, returns a login challenge and no token (outcome B).
//
// Order matters: the per-address limits and the per-e-mail guessing budget are counted before
// anything is looked up (so their 429 says nothing about the account), and the outcome of the
// password check is recorded before anything that can fail, so no error path can make a
// correct password observable without a trace.
func (s *Identity) Login(ctx context.Context, request api.LoginRequestObject) (api.LoginResponseObject, error) {
	b := request.Body
	email := NormalizeEmail(string(b.Email))
	dev := tokens.Device{ID: b.DeviceId, Type: b.DeviceType, Name: b.DeviceName}
	if b.Country != nil {
		dev.Country = strings.TrimSpace(*b.Country)
	}
	if err := s.allowAttempt(ctx, email); err != nil {
		return nil, err
	}
	slot, err := s.guesses.Reserve(ctx, ratelimit.Digest(email), s.clock.Now())
	if err != nil {
		return nil, err
	}
	u, found, err := s.findUser(ctx, email)
	if err != nil {
		return nil, err
	}
	encoded := ""
	if found && u.PasswordHash != nil {
		encoded = *u.PasswordHash
	}
	// Exactly one argon2id verification on every path: with encoded empty (unknown e-mail,
	// pending account without a password) Verify runs the same work against a dummy hash.
	ok, needsRehash, err := s.hasher.Verify(ctx, encoded, b.Password)
	if err != nil {
		return nil, fmt.Errorf("identity: verify password: %w", err)
	}
	if reason := failureReason(found, ok, u.Status); reason != "" {
		return nil, s.recordFailure(ctx, email, found, u, dev, reason, slot)
	}
	if err := s.recordAccepted(ctx, u, dev); err != nil {
		return nil, err
	}
	if needsRehash {
		if err := s.upgradeHash(ctx, u.ID, encoded, b.Password); err != nil {
			return nil, err
		}
	}
	var res api.LoginResponseObject
	if u.TwofaEnabled {
		res, err = s.challenge(ctx, u, dev)
	} else {
		res, err = s.issue(ctx, u, dev)
	}
	if err != nil {
		// The slot stays counted: a login that broke off after the check is not a success.
		return nil, err
	}
	slot.Release(ctx)
	return res, nil
}

// issue is outcome A: the device token through sessions.Complete.
func (s *Identity) issue(ctx context.Context, u db.User, dev tokens.Device) (api.LoginResponseObject, error) {
	issued, err := s.sessions.Complete(ctx, sessions.User{ID: u.ID, Email: u.Email, Locale: u.Locale, Status: u.Status}, dev, "password")
	if err != nil {
		return nil, err
	}
	var data api.LoginResponse_Data
	if err := data.FromLoginTokenData(api.LoginTokenData{
		MfaRequired:   false,
		AccessToken:   issued.AccessToken,
		TokenType:     "Bearer",
		AccountStatus: api.AccountStatus(u.Status),
		UserId:        u.ID,
	}); err != nil {
		return nil, err
	}
	return api.Login200JSONResponse{Code: "LOGIN_SUCCESS", Message: i18n.Msg(ctx, "LOGIN_SUCCESS"), Data: data}, nil
}

// allowAttempt counts the attempt against the per-address and per-email+address limits, for
// known and unknown e-mails alike, before any password work.
func (s *Identity) allowAttempt(ctx context.Context, email string) error {
	if err := s.limiter.Allow(ctx, "login_ip", s.limits.PerIP, ratelimit.ClientKey(ctx)); err != nil {
		return err
	}
	// The e-mail goes in as a digest: bounded length, and no addresses in clear in Redis.
	return s.limiter.Allow(ctx, "login_email_ip", s.limits.PerEmailIP, ratelimit.ClientKey(ctx, ratelimit.Digest(email)))
}

func (s *Identity) findUser(ctx context.Context, email string) (db.User, bool, error) {
	u, err := s.st.Q.GetUserByEmail(ctx, email)
	if pg.IsNotFound(err) {
		return db.User{}, false, nil
	}
	if err != nil {
		return db.User{}, false, fmt.Errorf("identity: find user: %w", err)
	}
	return u, true, nil
}

// failureReason is "" for a usable account with the right password; otherwise the reason kept
// in the audit log (never shown to the client).
func failureReason(found, passwordOK bool, status string) string {
	switch {
	case !found:
		return "unknown_email"
	case status != "active":
		return "account_" + status
	case !passwordOK:
		return "wrong_password"
	}
	return ""
}

// recordFailure counts the wrong guess in the e-mail's budget and writes the login-failure
// audit event (the same statement for every kind, with no user id when the e-mail is unknown,
// never the password); the failure that exhausts the budget also e-mails the owner, in the
// same transaction. It returns INVALID_CREDENTIALS.
func (s *Identity) recordFailure(ctx context.Context, email string, found bool, u db.User, dev tokens.Device, reason string, slot *ratelimit.Slot) error {
	now := s.clock.Now()
	exhausted, err := slot.Fail(ctx, now)
	if err != nil {
		return err
	}
	ev := audit.Event{
		Action: "auth.login.failed", UserID: u.ID,
		Details: map[string]any{"device_id": dev.ID, "device_type": dev.Type, "reason": reason},
	}
	// The audit chain hashes every row and can never be rewritten, so a user's row names them
	// by id only: their e-mail must be erasable (services/privacy). An unknown e-mail is kept.
	if found {
		ev.SubjectType, ev.SubjectID = "user", strconv.FormatInt(u.ID, 10)
	} else {
		ev.Details["email"] = email
	}
	notify := exhausted && found && u.Status != "closed"
	err = s.st.Tx(ctx, func(q *db.Queries) error {
		if err := audit.Record(ctx, q, now, ev); err != nil {
			return err
		}
		if !notify {
			return nil
		}
		return s.notifyLocked(ctx, q, u, now)
	})
	if err != nil {
		if notify {
			slot.Unnotify(ctx)
		}
		return fmt.Errorf("identity: audit login failure: %w", err)
	}
	return ErrInvalidCredentials
}

// notifyLocked records that the e-mail's password budget is exhausted and tells the owner.
func (s *Identity) notifyLocked(ctx context.Context, q *db.Queries, u db.User, now time.Time) error {
	if err := audit.Record(ctx, q, now, audit.Event{
		Action: "auth.login.locked", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
		Details: map[string]any{"failures": s.guesses.Max(), "window_seconds": int(s.guesses.Window().Seconds())},
	}); err != nil {
		return err
	}
	// In the owner's language: the requests that exhausted the budget were someone else's.
	_, err := s.outbox.Enqueue(ctx, q, now, mail.Message{
		To: u.Email, Template: "login_locked", Locale: i18n.ForUser(context.Background(), u.Locale),
		Data: map[string]any{"Time": mail.Time(now), "Minutes": int(s.guesses.Window().Minutes())},
	})
	return err
}

// recordAccepted commits the trace of a right password before the token or the challenge is
// made: auth.login.mfa_required for a 2FA user, auth.login.password_accepted otherwise.
func (s *Identity) recordAccepted(ctx context.Context, u db.User, dev tokens.Device) error {
	action := "auth.login.password_accepted"
	if u.TwofaEnabled {
		action = "auth.login.mfa_required"
	}
	if err := audit.Record(ctx, s.st.Q, s.clock.Now(), audit.Event{
		Action: action, UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
		Details: map[string]any{"device_id": dev.ID, "device_type": dev.Type},
	}); err != nil {
		return fmt.Errorf("identity: audit login: %w", err)
	}
	return nil
}

// upgradeHash re-hashes the password with the current parameters. The update only applies if
// the stored hash is still the one just verified, so a concurrent password change wins.
func (s *Identity) upgradeHash(ctx context.Context, userID int64, old, pw string) error {
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("identity: rehash: %w", err)
	}
	if _, err := s.st.Q.UpgradePasswordHash(ctx, db.UpgradePasswordHashParams{NewHash: h, Now: s.clock.Now(), ID: userID, OldHash: old}); err != nil {
		return fmt.Errorf("identity: store rehash: %w", err)
	}
	return nil
}

// challenge is outcome B: no token; a Redis challenge bound to the IP, User-Agent and device,
// which verify-login (services/twofactor) consumes (recordAccepted has audited it).
func (s *Identity) challenge(ctx context.Context, u db.User, dev tokens.Device) (api.LoginResponseObject, error) {
	info := reqctx.From(ctx)
	now := s.clock.Now()
	ch, err := s.challenges.Create(ctx, challenge.Challenge{
		UserID: u.ID, IP: info.IP, UserAgent: info.UserAgent,
		DeviceID: dev.ID, DeviceType: dev.Type, DeviceName: dev.Name, Country: dev.Country,
	}, now)
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(ch.ID)
	if err != nil {
		return nil, err
	}
	var data api.LoginResponse_Data
	if err := data.FromLoginChallengeData(api.LoginChallengeData{
		MfaRequired: true, ChallengeId: id, OtpType: "totp", ExpiresIn: int(challenge.TTL.Seconds()),
	}); err != nil {
		return nil, err
	}
	return api.Login200JSONResponse{Code: "MFA_REQUIRED", Message: i18n.Msg(ctx, "MFA_REQUIRED"), Data: data}, nil
}
