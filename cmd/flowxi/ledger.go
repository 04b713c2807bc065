package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/services/ledger"
)

// flowxi internal-key create --name N --scopes a,b [--expires 2160h|RFC3339]   prints a new internal API key, once
// flowxi ledger check [--full]                       runs the ledger invariants (exit 1 on any violation):
//
//	what came after the last verified checkpoint, or everything
func init() {
	commands["internal-key create"] = internalKeyCreate
	commands["ledger check"] = ledgerCheck
}

// openStore validates the configuration and opens the database, with the two connections a
// command needs.
func openStore(ctx context.Context, cfg config.Config) (*pg.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return pg.Open(ctx, cfg.DatabaseURL, 2)
}

// openMigratedStore opens the database and applies the migrations (unless SKIP_MIGRATIONS).
func openMigratedStore(ctx context.Context, cfg config.Config) (*pg.Store, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.SkipMigrations {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

func internalKeyCreate(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("internal-key create", flag.ContinueOnError)
	name := fs.String("name", "", "unique name of the key (who uses it)")
	scopes := fs.String("scopes", "", "comma-separated scopes: ledger:deposit, ledger:withdraw, ledger:read, ledger:admin, compliance:read, compliance:write, events:read, webhooks:admin, support:read, support:write, keys:admin (area:* for all)")
	expires := fs.String("expires", "", "refuse the key from then on: a duration from now (2160h) or an RFC 3339 time (default: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	until, err := parseExpiry(*expires, time.Now())
	if err != nil {
		return err
	}
	ks, done, err := keyService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	key, err := ks.CreateExpiring(ctx, *name, list, until)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "internal key %q created with scopes %s; it is shown only once:\n", *name, strings.Join(list, ","))
	fmt.Println(key)
	return nil
}

func ledgerCheck(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("ledger check", flag.ContinueOnError)
	full := fs.Bool("full", false, "re-verify the whole ledger, not only what came after the last checkpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openMigratedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	r, err := ledger.Verify(ctx, st, *full)
	if err != nil {
		return err
	}
	for _, line := range r.Violations {
		fmt.Println("ledger check: VIOLATION:", line)
	}
	mode := "full"
	if !r.Full {
		mode = fmt.Sprintf("incremental from checkpoint %d", *r.From)
	}
	fmt.Printf("ledger check: %s, %d entries re-hashed, %s\n", mode, r.EntriesChecked, time.Since(start).Round(time.Millisecond))
	if len(r.Violations) > 0 {
		return fmt.Errorf("ledger check: %d violation(s) (no checkpoint recorded)", len(r.Violations))
	}
	fmt.Printf("ledger check: ok, checkpoint %d recorded\n", *r.Checkpoint)
	return nil
}
