// Package migrations embeds the goose SQL migrations applied at start-up. sqlc reads the same
// files (it ignores the Down sections) to type the queries in ../queries. Version 00041 is not
// a file here: it is River's schema (the job queue), a goose Go migration in infra/pg/river.go
// applied in the same run; the next SQL file is 00042.
package migrations

import "embed"

// FS holds every numbered migration.
//
//go:embed *.sql
var FS embed.FS
