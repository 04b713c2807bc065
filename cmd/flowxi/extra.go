package main

import (
	"context"
	"fmt"

	"github.com/flowxi/backend/config"
)

// runExtra dispatches the operational commands added by later capabilities
// (internal-key create, audit verify, ledger check).
func runExtra(ctx context.Context, cfg config.Config, cmd string, args []string) error {
	_ = ctx
	_ = cfg
	_ = args
	return fmt.Errorf("unknown command %q (serve, migrate)", cmd)
}
