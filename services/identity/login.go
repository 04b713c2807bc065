package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/audit"
	"github.com/flowxi/backend/services/challenge"
	"github.com/flowxi/backend/services/i18n"
	"github.com/flowxi/backend/services/reqctx"
	"github.com/flowxi/backend/services/sessions"
	"github.com/flowxi/backend/services/store"
	"github.com/flowxi/backend/services/tokens"
)

// NormalizeEmail trims and lower-cases an address before any lookup or rate-limit key.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Login checks email + password and either issues the device-bound token (outcome A) or, when
// the user has 2FA, returns a login challenge and no token (outcome B).
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
		return nil, s.recordFailure(ctx, email, u.ID, dev, reason)
	}
	if needsRehash {
		if err := s.upgradeHash(ctx, u.ID, encoded, b.Password); err != nil {
			return nil, err
		}
	}
	if u.TwofaEnabled {
		return s.challenge(ctx, u, dev)
	}
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

// allowAttempt counts the attempt against the per-IP and per-email+IP limits, for known and
// unknown e-mails alike, before any password work.
func (s *Identity) allowAttempt(ctx context.Context, email string) error {
	ip := reqctx.From(ctx).IP
	if err := s.limiter.Allow(ctx, "login_ip", s.limits.PerIP, ip); err != nil {
		return err
	}
	// The key is a digest: bounded length, and no e-mail addresses in clear in Redis.
	sum := sha256.Sum256([]byte(email + "\x00" + ip))
	return s.limiter.Allow(ctx, "login_email_ip", s.limits.PerEmailIP, hex.EncodeToString(sum[:16]))
}

func (s *Identity) findUser(ctx context.Context, email string) (db.User, bool, error) {
	u, err := s.st.Q.GetUserByEmail(ctx, email)
	if store.IsNotFound(err) {
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

// recordFailure writes the login-failure audit event (the same statement for every kind, with
// no user id when the e-mail is unknown, never the password) and returns INVALID_CREDENTIALS.
func (s *Identity) recordFailure(ctx context.Context, email string, userID int64, dev tokens.Device, reason string) error {
	ev := audit.Event{
		Action: "auth.login.failed", UserID: userID,
		Details: map[string]any{"email": email, "device_id": dev.ID, "device_type": dev.Type, "reason": reason},
	}
	if userID != 0 {
		ev.SubjectType, ev.SubjectID = "user", strconv.FormatInt(userID, 10)
	}
	if err := audit.Record(ctx, s.st.Q, s.clock.Now(), ev); err != nil {
		return fmt.Errorf("identity: audit login failure: %w", err)
	}
	return ErrInvalidCredentials
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
// which verify-login (services/twofactor) consumes.
func (s *Identity) challenge(ctx context.Context, u db.User, dev tokens.Device) (api.LoginResponseObject, error) {
	info := reqctx.From(ctx)
	now := s.clock.Now()
	if err := audit.Record(ctx, s.st.Q, now, audit.Event{
		Action: "auth.login.mfa_required", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
		Details: map[string]any{"device_id": dev.ID, "device_type": dev.Type},
	}); err != nil {
		return nil, fmt.Errorf("identity: audit challenge: %w", err)
	}
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
