package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/flowxi/backend/config"
)

// commands are the operational commands beyond serve and migrate; each file registers its own
// (audit verify, ledger check, internal-key create).
var commands = map[string]func(ctx context.Context, cfg config.Config, args []string) error{}

// runExtra dispatches "<group> <verb>" commands such as `flowxi audit verify`.
func runExtra(ctx context.Context, cfg config.Config, cmd string, args []string) error {
	if len(args) > 0 {
		if f, ok := commands[cmd+" "+args[0]]; ok {
			return f(ctx, cfg, args[1:])
		}
	}
	if f, ok := commands[cmd]; ok {
		return f(ctx, cfg, args)
	}
	names := []string{"serve", "migrate"}
	for k := range commands {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Errorf("unknown command %q (known: %s)", cmd, strings.Join(names, ", "))
}
