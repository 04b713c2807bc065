package pg

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverVersion is the version of River's schema that migration 41 installs. Upgrading River
// to a release with a new schema version adds a migration that moves this target (up) and back
// to the previous one (down), so goose stays the one record of what is applied.
const RiverVersion = 8

// riverMigration is goose migration 00041: River's job tables (river_job, river_queue, …),
// installed by River's own migrator inside one transaction, under goose's lock. It is a Go
// migration because River ships its schema as versioned SQL of its own (rivermigrate).
func riverMigration(pool *pgxpool.Pool) *goose.Migration {
	run := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.DB) error {
		return func(ctx context.Context, _ *sql.DB) error {
			m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				return err
			}
			if _, err := m.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
				return fmt.Errorf("river schema %s: %w", dir, err)
			}
			return nil
		}
	}
	return goose.NewGoMigration(41,
		&goose.GoFunc{RunDB: run(rivermigrate.DirectionUp, RiverVersion)},
		&goose.GoFunc{RunDB: run(rivermigrate.DirectionDown, -1)})
}
