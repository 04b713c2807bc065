package twofactor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/mail"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/infra/ratelimit"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/services/audit"
)

// Flows, as named in audit events.
const (
	purposeEnable  = "enable"
	purposeDisable = "disable"
	purposeStepUp  = "step_up"
	purposeLogin   = "login"
	purposeReset   = "password_reset"
)

// Why a code was refused (audit details; never the code itself).
const (
	reasonWrong    = "wrong_code"
	reasonReplayed = "replayed"
)

// factor is a second factor that matched, not yet claimed.
type factor struct {
	kind       string // "totp" or "recovery_code"
	step       int64
	recoveryID int64
	secret     string // the TOTP secret the code matched
}

// errClaimLost means the factor was spent by another request between match and claim.
var errClaimLost = errors.New("twofactor: factor already used")

func totpAAD(userID int64) []byte { return []byte("totp:" + strconv.FormatInt(userID, 10)) }

// loadUser reads the 2FA state of a user.
func (s *TwoFactor) loadUser(ctx context.Context, userID int64) (db.GetTwofaUserRow, error) {
	u, err := s.st.Q.GetTwofaUser(ctx, userID)
	if err != nil {
		return u, fmt.Errorf("twofactor: load user: %w", err)
	}
	return u, nil
}

// match checks code against the stored secret, or against the user's unused recovery codes,
// without writing anything. reason is empty when it matched.
func (s *TwoFactor) match(ctx context.Context, u db.GetTwofaUserRow, code string, now time.Time) (factor, string, error) {
	if isTOTP(code) {
		plain, err := s.keys.Decrypt(u.TwofaSecretEnc, totpAAD(u.ID))
		if err != nil {
			return factor{}, "", err
		}
		st, ok := matchTOTP(string(plain), code, now)
		if !ok {
			return factor{}, reasonWrong, nil
		}
		if u.TwofaLastStep != nil && st <= *u.TwofaLastStep {
			return factor{}, reasonReplayed, nil
		}
		return factor{kind: "totp", step: st, secret: string(plain)}, "", nil
	}
	canon, ok := canonicalRecovery(code)
	if !ok {
		return factor{}, reasonWrong, nil
	}
	id, err := s.st.Q.FindRecoveryCode(ctx, db.FindRecoveryCodeParams{UserID: u.ID, CodeHashes: s.recoveryHashes(u.ID, canon)})
	if pg.IsNotFound(err) {
		return factor{}, reasonWrong, nil
	}
	if err != nil {
		return factor{}, "", err
	}
	return factor{kind: "recovery_code", recoveryID: id}, "", nil
}

// claim spends f inside the caller's transaction; errClaimLost when it was spent meanwhile.
func (s *TwoFactor) claim(ctx context.Context, q *db.Queries, u db.GetTwofaUserRow, f factor, purpose string, now time.Time) error {
	var err error
	if f.kind == "totp" {
		_, err = q.ClaimTotpStep(ctx, db.ClaimTotpStepParams{ID: u.ID, Step: f.step, SecretEnc: u.TwofaSecretEnc})
		if pg.IsNotFound(err) {
			err = s.claimResealed(ctx, q, u, f)
		}
	} else {
		_, err = q.UseRecoveryCode(ctx, db.UseRecoveryCodeParams{ID: f.recoveryID, Now: now})
	}
	if pg.IsNotFound(err) {
		return errClaimLost
	}
	if err != nil || f.kind == "totp" {
		return err
	}
	left, err := q.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	return audit.Record(ctx, q, now, audit.Event{
		Action: "twofa.recovery_code.used", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
		Details: map[string]any{"purpose": purpose, "remaining": left},
	})
}

// claimResealed claims the step again when the stored secret was only resealed under a newer
// key (`flowxi keys reencrypt`) since match read it: same secret, new ciphertext. Any other
// change (disabled, another secret) leaves the claim lost.
func (s *TwoFactor) claimResealed(ctx context.Context, q *db.Queries, u db.GetTwofaUserRow, f factor) error {
	cur, err := q.GetTwofaUser(ctx, u.ID)
	if err != nil {
		return err
	}
	if !cur.TwofaEnabled || cur.TwofaSecretEnc == nil || bytes.Equal(cur.TwofaSecretEnc, u.TwofaSecretEnc) {
		return errClaimLost
	}
	plain, err := s.keys.Decrypt(cur.TwofaSecretEnc, totpAAD(u.ID))
	if err != nil || string(plain) != f.secret {
		return errClaimLost
	}
	_, err = q.ClaimTotpStep(ctx, db.ClaimTotpStepParams{ID: u.ID, Step: f.step, SecretEnc: cur.TwofaSecretEnc})
	return err
}

// attempt is one use of a second factor, holding its slot in the account's failure window.
type attempt struct {
	s       *TwoFactor
	u       db.GetTwofaUserRow
	purpose string
	slot    *ratelimit.Slot
}

// begin reserves a slot in the failure window (429 once the account is locked).
func (s *TwoFactor) begin(ctx context.Context, u db.GetTwofaUserRow, purpose string) (*attempt, error) {
	sl, err := s.failures.Reserve(ctx, "u"+strconv.FormatInt(u.ID, 10), s.clock.Now())
	if err != nil {
		return nil, err
	}
	return &attempt{s: s, u: u, purpose: purpose, slot: sl}, nil
}

// end frees the slot unless the attempt failed (deferred by every flow).
func (a *attempt) end(ctx context.Context) { a.slot.Release(ctx) }

// fail records a wrong or replayed code: the slot stays counted, the failure is audited, and
// the failure that locks the account e-mails the owner, in the same transaction. It returns
// 403 INVALID_2FA_CODE.
func (a *attempt) fail(ctx context.Context, reason string, details map[string]any) error {
	s, u := a.s, a.u
	now := s.clock.Now()
	notify, err := a.slot.Fail(ctx, now)
	if err != nil {
		return err
	}
	d := map[string]any{"purpose": a.purpose, "reason": reason}
	for k, v := range details {
		d[k] = v
	}
	err = s.st.Tx(ctx, func(q *db.Queries) error {
		if err := audit.Record(ctx, q, now, audit.Event{
			Action: "twofa.failed", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10), Details: d,
		}); err != nil {
			return err
		}
		if !notify {
			return nil
		}
		if err := audit.Record(ctx, q, now, audit.Event{
			Action: "twofa.locked", UserID: u.ID, SubjectType: "user", SubjectID: strconv.FormatInt(u.ID, 10),
			Details: map[string]any{"failures": s.failures.Max(), "window_seconds": int(s.failures.Window().Seconds())},
		}); err != nil {
			return err
		}
		return s.mail(ctx, q, u, "twofa_locked", now)
	})
	if err != nil {
		if notify {
			a.slot.Unnotify(ctx)
		}
		return err
	}
	return ErrInvalidCode
}

// mail enqueues a security e-mail to the account owner in q's transaction.
func (s *TwoFactor) mail(ctx context.Context, q *db.Queries, u db.GetTwofaUserRow, template string, now time.Time) error {
	lang := i18n.ForUser(ctx, u.Locale)
	_, err := s.outbox.Enqueue(ctx, q, now, mail.Message{
		To: u.Email, Template: template, Locale: lang,
		Data: map[string]any{"Time": mail.Time(now), "Minutes": int(s.failures.Window().Minutes())},
	})
	return err
}

// use runs the whole path for a flow whose factor is checked against the stored secret:
// reserve, match, then claim and onSuccess in one transaction. A replayed or raced code is a
// failure like a wrong one.
func (s *TwoFactor) use(ctx context.Context, u db.GetTwofaUserRow, code, purpose string, onSuccess func(q *db.Queries, f factor, now time.Time) error) error {
	a, err := s.begin(ctx, u, purpose)
	if err != nil {
		return err
	}
	defer a.end(ctx)
	now := s.clock.Now()
	f, reason, err := s.match(ctx, u, code, now)
	if err != nil {
		return err
	}
	if reason != "" {
		return a.fail(ctx, reason, nil)
	}
	err = s.st.Tx(ctx, func(q *db.Queries) error {
		if err := s.claim(ctx, q, u, f, purpose, now); err != nil {
			return err
		}
		return onSuccess(q, f, now)
	})
	if errors.Is(err, errClaimLost) {
		return a.fail(ctx, reasonReplayed, nil)
	}
	return err
}
