package privacy_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a server on real object storage (MinIO) and SMTP, with an internal key holding the
// compliance, ledger and support scopes.
type fixture struct {
	*testkit.Money
	s3 *testkit.S3Server
	mb *testkit.Mailbox
}

func newFixture(t *testing.T, adjust ...func(*config.Config)) *fixture {
	s3 := testkit.StartS3(t)
	mb := testkit.NewMailbox(t)
	adjust = append([]func(*config.Config){s3.Configure, mb.Use}, adjust...)
	env := testkit.New(t, adjust...)
	return &fixture{Money: testkit.NewMoney(env, "compliance:*", "support:read", ledger.ScopeDeposit, ledger.ScopeWithdraw, ledger.ScopeAdmin), s3: s3, mb: mb}
}

// person is what the test knows about the populated user: every personal value it wrote.
type person struct {
	testkit.User
	First, Last, Phone, BirthDate string
	KYCFirst, KYCLast, Street     string
	Secret                        string // TOTP secret
	Wallet                        int64
}

// values are the personal values erasure must remove from every column of every table.
func (p person) values() map[string]string {
	return map[string]string{"email": p.Email, "first name": p.First, "last name": p.Last, "phone": p.Phone,
		"KYC first name": p.KYCFirst, "KYC last name": p.KYCLast, "street": p.Street}
}

// letters is n random lower-case letters (names accept letters only).
func letters(n int) string { return randomOf("abcdefghijklmnopqrstuvwxyz", n) }

// digits is n random decimal digits.
func digits(n int) string { return randomOf("0123456789", n) }

// randomOf is n characters drawn at random from alphabet.
func randomOf(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// populate gives a user a row in every table the export covers, through the API wherever the
// API writes it: profile and photo, KYC data and documents, money in and out, a restriction,
// a password-reset code, 2FA with recovery codes; a magic link and a case transition by SQL.
// The account ends with zero balances, so it can be closed.
func (f *fixture) populate(t *testing.T) person {
	t.Helper()
	p := person{User: f.CreateUser(testkit.WithoutKYC()), First: "Zeph" + letters(8), Last: "Quill" + letters(8),
		Phone: "+3361" + digits(7), BirthDate: "1987-03-14", KYCFirst: "Ysolde" + letters(6), KYCLast: "Varga" + letters(6),
		Street: "Impasse " + letters(10)}
	f.ok(t, f.user(p.User, "PATCH", "/api/v1/me", map[string]any{"first_name": p.First, "last_name": p.Last,
		"phone_number": p.Phone, "birth_date": p.BirthDate, "country": "FR", "nationality": "FRA"}), 200)
	f.ok(t, f.multipart(p.User, "/api/v1/me/photo", nil, "photo", "me.jpg", "image/jpeg", testkit.Picture(t, "jpeg")), 200)
	f.ok(t, f.user(p.User, "PUT", "/api/v1/compliance/kyc", map[string]any{"first_name": p.KYCFirst, "last_name": p.KYCLast,
		"birth_date": p.BirthDate, "nationality": "FRA", "country": "FR",
		"address": map[string]any{"line1": p.Street, "city": "Lyon", "postal_code": "69001"}}), 200)
	for _, kind := range []string{"identity_document", "proof_of_address"} {
		f.ok(t, f.multipart(p.User, "/api/v1/compliance/documents", map[string]string{"kind": kind}, "file", "doc.pdf", "application/pdf", testkit.PDFDoc()), 201)
	}
	caseID := f.ComplianceCase(p.ID, "kyc", "approved")
	f.ExecSQL(`INSERT INTO compliance_case_history (case_id, from_status, to_status, actor_type, actor_id, reason, occurred_at)
		VALUES ($1, 'under_review', 'approved', 'internal_key', 'reviewer', 'documents match', now())`, caseID)
	// A company case too (KYB data by SQL: the account is personal), the person as its owner.
	kyb := f.ComplianceCase(p.ID, "kyb", "not_started")
	f.ExecSQL(`INSERT INTO compliance_kyb_data (case_id, legal_name, registration_number, country, beneficial_owners, updated_at)
		VALUES ($1, 'Acme SARL', 'RCS-123', 'FR', jsonb_build_array(jsonb_build_object('first_name', $2::text, 'last_name', $3::text,
		'birth_date', $4::text, 'nationality', 'FRA', 'ownership_percent', 100)), now())`, kyb, p.KYCFirst, p.KYCLast, p.BirthDate)
	f.money(t, &p)
	r := f.internal("POST", fmt.Sprintf("/api/v1/internal/compliance/users/%d/restrictions", p.ID), map[string]any{"reason": "routine check"})
	f.ok(t, r, 201)
	f.ok(t, f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/password/forgot", JSON: map[string]any{"email": p.Email}}), 200)
	// A wrong password: its audit row must name the user without their e-mail.
	f.ok(t, f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{"email": p.Email,
		"password": "Wrong-Password-42", "device_id": "d-" + testkit.RandomHex(3), "device_type": "web", "device_name": "Browser"}}), 401)
	f.ExecSQL(`INSERT INTO magic_links (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, now(), now() + interval '15 minutes')`, p.ID, testkit.RandomHex(32))
	// A support request to reset 2FA, its reason naming the person as an operator would.
	f.ExecSQL(`INSERT INTO support_twofa_resets (user_id, requested_by_key, requested_by, request_reason, requested_at, expires_at)
		SELECT $1, min(id), 'support-alice', 'lost phone, caller ' || $2::text, now(), now() + interval '30 minutes' FROM internal_keys`, p.ID, p.Email)
	p.Secret = f.enroll(t, p.User)
	return p
}

// money deposits into a new wallet and sends it all to another user: transactions, entries and
// events on both sides, and a zero balance.
func (f *fixture) money(t *testing.T, p *person) {
	t.Helper()
	other := f.CreateUser()
	f.Wallet(other, "EUR")
	p.Wallet = f.Wallet(p.User, "EUR")
	f.Deposit(p.Wallet, 2500, "EUR")
	f.ok(t, f.Transfer(p.User, p.Wallet, other.Username, 2500, "EUR"), 201)
}

// enroll turns 2FA on the way a client does and returns the secret.
func (f *fixture) enroll(t *testing.T, u testkit.User) string {
	t.Helper()
	secret, _ := f.Enroll2FA(u)
	return secret
}

// stepUp verifies a TOTP code for u's token (a 5-minute step-up window).
func (f *fixture) stepUp(t *testing.T, u testkit.User, secret string) {
	t.Helper()
	at := f.FreshTOTPStep()
	f.ok(t, f.user(u, "POST", "/api/v1/auth/2fa/verify", map[string]any{"code": testkit.TOTP(t, secret, at)}), 200)
}

func (f *fixture) ok(t *testing.T, r *testkit.Resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%d, want %d: %s", r.Status, status, r.Body)
	}
}

// internal calls the internal API with the fixture's key.
func (f *fixture) internal(method, path string, body any) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body, Headers: map[string]string{"X-Internal-Key": f.Key}})
}

// user calls the user API with u's token.
func (f *fixture) user(u testkit.User, method, path string, body any) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body, Token: u.Token})
}

// multipart posts fields and one file as multipart/form-data with u's token.
func (f *fixture) multipart(u testkit.User, path string, fields map[string]string, field, name, ctype string, data []byte) *testkit.Resp {
	f.T.Helper()
	body, btype := testkit.Multipart(f.T, fields, testkit.File{Field: field, Name: name, Type: ctype, Data: data})
	return f.Do(testkit.Req{Method: "POST", Path: path, Raw: body, Type: btype, Token: u.Token})
}

// settle works the due jobs (mail, deletions) and seals the audit rows written so far.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	f.RunDueJobs()
	if _, err := f.SealAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}
