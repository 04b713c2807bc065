package compliance_test

import (
	"testing"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// fixture is a running server with an internal key holding every compliance and ledger scope.
type fixture struct {
	*testkit.Money
}

func newFixture(t testing.TB, adjust ...func(*config.Config)) *fixture {
	return &fixture{Money: testkit.NewMoney(testkit.New(t, adjust...),
		"compliance:*", ledger.ScopeDeposit, ledger.ScopeWithdraw, ledger.ScopeAdmin)}
}

// internal calls the internal API with the fixture's key.
func (f *fixture) internal(method, path string, body any, lang ...string) *testkit.Resp {
	f.T.Helper()
	h := map[string]string{"X-Internal-Key": f.Key}
	if len(lang) > 0 {
		h["X-App-Locale"] = lang[0]
	}
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body, Headers: h})
}

// user calls the user API with u's token.
func (f *fixture) user(u testkit.User, method, path string, body any, lang ...string) *testkit.Resp {
	f.T.Helper()
	var h map[string]string
	if len(lang) > 0 {
		h = map[string]string{"X-App-Locale": lang[0]}
	}
	return f.Do(testkit.Req{Method: method, Path: path, JSON: body, Token: u.Token, Headers: h})
}

// str runs a query returning one text value.
func (f *fixture) str(sql string, args ...any) string {
	f.T.Helper()
	var s string
	f.Scan(sql, args, &s)
	return s
}

// caseInStatus returns the id of u's case of kind, put in status (testkit.ComplianceCase).
func (f *fixture) caseInStatus(userID int64, kind, status string) int64 {
	f.T.Helper()
	return f.ComplianceCase(userID, kind, status)
}

// completeKYC gives a case its data and documents (testkit.CompleteKYC).
func (f *fixture) completeKYC(caseID int64) {
	f.T.Helper()
	f.CompleteKYC(caseID)
}

// kycBody is a valid KYC data request.
func kycBody() map[string]any {
	return map[string]any{"first_name": "Ada", "last_name": "Lovelace", "birth_date": "1990-12-10", "nationality": "BEN", "country": "BJ",
		"address": map[string]any{"line1": "12 rue des Palmiers", "city": "Cotonou", "postal_code": "01BP1234"}}
}

// login tries u's e-mail and password on a new device.
func (f *fixture) login(u testkit.User) *testkit.Resp {
	f.T.Helper()
	return f.Do(testkit.Req{Method: "POST", Path: "/api/v1/auth/login", JSON: map[string]any{
		"email": u.Email, "password": u.Password, "device_id": "dev-" + testkit.RandomHex(4), "device_type": "web", "device_name": "Browser"}})
}
