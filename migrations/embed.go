// Package migrations embeds the goose SQL migrations applied at start-up. sqlc reads the same
// files (it ignores the Down sections) to type the queries in ../queries.
package migrations

import "embed"

// FS holds every numbered migration.
//
//go:embed *.sql
var FS embed.FS
