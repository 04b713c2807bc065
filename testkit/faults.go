package testkit

import "context"

// RefuseTokensFor makes the package database refuse to store an access token for one device
// name, as a constraint would (a trigger, dropped when the test ends): token issuance then fails
// after the credentials were checked, the way any database error there does.
func (e *Env) RefuseTokensFor(deviceName string) {
	e.T.Helper()
	ctx := context.Background()
	for _, sql := range []string{
		`CREATE OR REPLACE FUNCTION test_refuse_token() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
		`CREATE TRIGGER test_refuse_token BEFORE INSERT ON access_tokens FOR EACH ROW
			WHEN (NEW.device_name = ` + quote(deviceName) + `) EXECUTE FUNCTION test_refuse_token()`,
	} {
		if _, err := e.parts.Store.Pool.Exec(ctx, sql); err != nil {
			e.T.Fatalf("testkit: refuse tokens: %v", err)
		}
	}
	e.T.Cleanup(func() {
		_, _ = e.parts.Store.Pool.Exec(ctx, `DROP TRIGGER IF EXISTS test_refuse_token ON access_tokens`)
	})
}

// quote is a SQL string literal.
func quote(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += "'"
		}
		out += string(r)
	}
	return out + "'"
}
