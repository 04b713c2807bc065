package testkit

import (
	"context"
	"fmt"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/services/identity/tokens"
)

// User is an active account created directly in the database for tests that need a logged-in
// caller without going through registration.
type User struct {
	ID       int64
	Email    string
	Password string
	Username string
	Token    string
	TokenID  int64
	DeviceID string
}

// UserOpt adjusts a created user.
type UserOpt func(*userOpts)

type userOpts struct {
	locale   string
	deviceID string
	noToken  bool
	noKYC    bool
}

// WithLocale sets the user's locale.
func WithLocale(l string) UserOpt { return func(o *userOpts) { o.locale = l } }

// WithDevice binds the token to deviceID.
func WithDevice(id string) UserOpt { return func(o *userOpts) { o.deviceID = id } }

// WithoutKYC creates the user without the approved KYC case every other test user has (so they
// cannot send money until compliance approves them).
func WithoutKYC() UserOpt { return func(o *userOpts) { o.noKYC = true } }

// WithoutToken creates the user without issuing a token.
func WithoutToken() UserOpt { return func(o *userOpts) { o.noToken = true } }

// CreateUser inserts an active user with a password, an approved KYC case (unless WithoutKYC)
// and, unless WithoutToken, a device-bound token.
func (e *Env) CreateUser(opts ...UserOpt) User {
	e.T.Helper()
	o := userOpts{locale: "fr", deviceID: "test-device-" + RandomHex(4)}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	u := User{Email: fmt.Sprintf("user-%s@example.com", RandomHex(5)), Password: "Corr3ct-Horse-Battery", DeviceID: o.deviceID}
	hash, err := e.parts.Hasher.Hash(ctx, u.Password)
	if err != nil {
		e.T.Fatal(err)
	}
	err = e.parts.Store.Tx(ctx, func(q *db.Queries) error {
		row, err := q.CreatePendingUser(ctx, db.CreatePendingUserParams{Email: u.Email, Locale: o.locale})
		if err != nil {
			return err
		}
		u.ID = row.ID
		u.Username = fmt.Sprintf("fx%08d", row.ID)
		if err := q.SetUsername(ctx, db.SetUsernameParams{ID: row.ID, Username: &u.Username}); err != nil {
			return err
		}
		if err := q.EnsureNotificationPreferences(ctx, row.ID); err != nil {
			return err
		}
		if _, err := q.ActivateUser(ctx, db.ActivateUserParams{ID: row.ID, PasswordHash: &hash, Now: e.Clock.Now()}); err != nil {
			return err
		}
		if !o.noKYC {
			// A ready-to-use user may send money: their KYC case is approved, as compliance would
			// leave it after review.
			if err := approveKYC(ctx, q, row.ID, e.Clock.Now()); err != nil {
				return err
			}
		}
		if o.noToken {
			return nil
		}
		if _, err := q.RememberDevice(ctx, db.RememberDeviceParams{UserID: row.ID, DeviceID: o.deviceID}); err != nil {
			return err
		}
		u.Token, u.TokenID, err = e.parts.Tokens.Issue(ctx, q, row.ID, tokens.Device{ID: o.deviceID, Type: "web", Name: "Test browser"})
		return err
	})
	if err != nil {
		e.T.Fatalf("testkit: create user: %v", err)
	}
	return u
}

// approveKYC creates the user's KYC case, submitted and approved at now.
func approveKYC(ctx context.Context, q *db.Queries, userID int64, now time.Time) error {
	if err := q.EnsureComplianceCase(ctx, db.EnsureComplianceCaseParams{UserID: userID, Kind: "kyc", Now: now}); err != nil {
		return err
	}
	c, err := q.GetComplianceCaseForUpdate(ctx, db.GetComplianceCaseForUpdateParams{UserID: userID, Kind: "kyc"})
	if err != nil {
		return err
	}
	for _, status := range []string{"submitted", "approved"} {
		if _, err := q.SetComplianceCaseStatus(ctx, db.SetComplianceCaseStatusParams{ID: c.ID, Status: status, Now: now}); err != nil {
			return err
		}
	}
	return nil
}

// SetUserStatus puts a user in status (pending, active, blocked, closed) straight in the
// database: the states an account reaches through back-office steps the API does not offer.
func (e *Env) SetUserStatus(userID int64, status string) {
	e.T.Helper()
	e.ExecSQL("UPDATE users SET status = $2 WHERE id = $1", userID, status)
}
