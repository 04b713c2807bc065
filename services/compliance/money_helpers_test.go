package compliance_test

import "github.com/flowxi/backend/testkit"

// send transfers amount EUR from wallet to the user named to.
func (f *fixture) send(u testkit.User, from int64, to string, amount int64, lang ...string) *testkit.Resp {
	f.T.Helper()
	return f.Transfer(u, from, to, amount, "EUR", lang...)
}
