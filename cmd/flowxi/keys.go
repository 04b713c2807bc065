package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flowxi/backend/app"
	"github.com/flowxi/backend/config"
	"github.com/flowxi/backend/infra/secrets"
)

func init() {
	commands["keys reencrypt"] = keysReencrypt
	commands["keys status"] = keysStatus
}

// keysReencrypt rewrites everything sealed under an older encryption key to the newest key of
// FLOWXI_ENCRYPTION_KEYS, -batch rows per transaction; safe while servers run, and to
// interrupt and run again (README "Rotating the keys").
func keysReencrypt(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("keys reencrypt", flag.ContinueOnError)
	batch := fs.Int("batch", app.DefaultReencryptBatch, "rows rewritten per transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	totals := map[string][2]int64{}
	err = a.Reencrypt(ctx, *batch, func(name string, b secrets.Batch) {
		t := totals[name]
		totals[name] = [2]int64{t[0] + int64(b.Read), t[1] + b.Rewritten}
	})
	for _, name := range sortedKeys(totals) {
		t := totals[name]
		fmt.Printf("keys reencrypt: %s: %d rewritten (%d read; the others changed meanwhile)\n", name, t[1], t[0])
	}
	if err != nil {
		return fmt.Errorf("keys reencrypt interrupted (run it again to finish): %w", err)
	}
	return keysStatusOf(ctx, a)
}

// keysStatus prints what still depends on keys older than the newest of each ring.
func keysStatus(ctx context.Context, cfg config.Config, _ []string) error {
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return keysStatusOf(ctx, a)
}

func keysStatusOf(ctx context.Context, a *app.App) error {
	st, err := a.KeyStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("keys status: encryption ring %s (newest writes), HMAC ring %s\n", strings.Join(st.Encryption, ","), strings.Join(st.HMAC, ","))
	for _, name := range sortedKeys(st.Sealed) {
		fmt.Printf("keys status: %s: %d rows under an older encryption key\n", name, st.Sealed[name])
	}
	until := "none"
	if st.CodesUntil != nil {
		until = "the last expires " + st.CodesUntil.UTC().Format(time.RFC3339)
	}
	fmt.Printf("keys status: e-mail codes under an older HMAC key: %d (%s)\n", st.Codes, until)
	fmt.Printf("keys status: unused recovery codes under an older HMAC key: %d\n", st.RecoveryCodes)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
