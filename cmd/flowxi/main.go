// Command flowxi runs the Flowxi API and its operational commands:
//
//	flowxi serve     run the HTTP server (default)
//	flowxi migrate   apply the database migrations and exit
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowxi/backend/app"
	"github.com/flowxi/backend/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "flowxi:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if err := cfg.EnsureLocalSecrets(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		a, err := app.New(ctx, cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		return a.Run(ctx)
	case "migrate":
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return st.Migrate(ctx)
	default:
		return runExtra(ctx, cfg, cmd, args)
	}
}
