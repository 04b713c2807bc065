package pg_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// Why DATABASE_URL must carry default_query_exec_mode=cache_describe through PgBouncer 1.18 in
// transaction pooling: pgx's default mode prepares named statements on whatever server
// connection the transaction got, and the next client handed that connection finds the name
// taken (42P05); in the documented mode the same statements run on unnamed ones.
func TestPgBouncerTransactionPoolingNeedsTheDocumentedExecMode(t *testing.T) {
	pooled := testkit.StartPgBouncer(t, testkit.DatabaseURL(t))
	u, err := url.Parse(pooled)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("default_query_exec_mode")
	u.RawQuery = q.Encode()
	plain := u.String()
	for _, tc := range []struct {
		url  string
		fail bool
	}{{plain, true}, {pooled, false}} {
		st, err := pg.Open(context.Background(), tc.url, 2)
		if err != nil {
			t.Fatal(err)
		}
		err = twoClientsSameStatement(st)
		st.Close()
		if (err != nil) != tc.fail {
			t.Errorf("%s: error %v, want failure %v", tc.url, err, tc.fail)
		}
		if tc.fail && err != nil && !strings.Contains(err.Error(), "42P05") {
			t.Errorf("default mode: %v, want 42P05 prepared statement already exists", err)
		}
	}
}

// twoClientsSameStatement runs one statement on two client connections held at once, one
// after the other (PgBouncer hands both the one idle server connection in turn).
func twoClientsSameStatement(st *pg.Store) error {
	ctx := context.Background()
	a, err := st.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer a.Release()
	b, err := st.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer b.Release()
	var n int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM users WHERE id > $1", 0).Scan(&n); err != nil {
		return err
	}
	return b.QueryRow(ctx, "SELECT count(*) FROM users WHERE id > $1", 0).Scan(&n)
}
