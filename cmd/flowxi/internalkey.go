package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/kit/apitime"
	"github.com/flowxi/backend/kit/clock"
	"github.com/flowxi/backend/services/identity/internalkeys"
)

// flowxi internal-key list                                 every key: name, scopes, created, last used, expiry, rotation, revocation
// flowxi internal-key rotate --name N [--overlap 24h]      prints the new key, once; the old one stays valid for the overlap
// flowxi internal-key revoke --name N [--reason R]         the key is refused from its next request on
func init() {
	commands["internal-key list"] = internalKeyList
	commands["internal-key rotate"] = internalKeyRotate
	commands["internal-key revoke"] = internalKeyRevoke
}

// keyService opens the store and the key service with the configured overlap; close closes the store.
func keyService(ctx context.Context, cfg config.Config) (*internalkeys.Service, func(), error) {
	st, err := openMigratedStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return internalkeys.New(st, clock.System{}).WithOverlap(cfg.InternalKeyRotationOverlap), st.Close, nil
}

// parseExpiry reads --expires: a duration from now (2160h) or an RFC 3339 time; empty: never.
func parseExpiry(v string, now time.Time) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		t := now.Add(d)
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, errors.New("internal key: --expires is a duration (2160h) or an RFC 3339 time (2027-06-30T00:00:00Z)")
	}
	return &t, nil
}

func internalKeyList(ctx context.Context, cfg config.Config, _ []string) error {
	ks, done, err := keyService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	rows, err := ks.List(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tROTATED\tOLD KEY UNTIL\tREVOKED")
	for _, k := range rows {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), apitime.Format(k.CreatedAt),
			orDash(k.LastUsedAt), orDash(k.ExpiresAt), orDash(k.RotatedAt), orDash(k.PreviousExpiresAt), orDash(k.RevokedAt))
	}
	return w.Flush()
}

func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return apitime.Format(*t)
}

func internalKeyRotate(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("internal-key rotate", flag.ContinueOnError)
	name := fs.String("name", "", "name of the key to rotate")
	overlap := fs.Duration("overlap", -1, "how long the old key stays valid (default INTERNAL_KEY_ROTATION_OVERLAP; 0 ends it now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *overlap > internalkeys.MaxOverlap {
		return fmt.Errorf("internal key: --overlap is at most %s", internalkeys.MaxOverlap)
	}
	ks, done, err := keyService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	key, k, err := ks.Rotate(ctx, *name, *overlap)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "internal key %q rotated; the old key is valid until %s; the new key is shown only once:\n", k.Name, orDash(k.PreviousExpiresAt))
	fmt.Println(key)
	return nil
}

func internalKeyRevoke(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("internal-key revoke", flag.ContinueOnError)
	name := fs.String("name", "", "name of the key to revoke")
	reason := fs.String("reason", "revoked with flowxi internal-key revoke", "why (audit-logged)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ks, done, err := keyService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	k, err := ks.Revoke(ctx, *name, *reason)
	if err != nil {
		return err
	}
	fmt.Printf("internal key %q revoked at %s\n", k.Name, orDash(k.RevokedAt))
	return nil
}
