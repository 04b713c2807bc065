// Package ledger owns the money: custodial wallets, the double-entry ledger (append-only,
// hash-chained entries with gap-free per-account versions), idempotent transfers, the internal
// operations (deposits, two-phase withdrawal holds, wallet status, reversals: reversal.go), the
// statements of a wallet (statement*.go) and the ledger invariants.
//
// Every movement goes through the posting engine (engine.go, batch.go): requests are queued and
// applied in micro-batches. A batch locks all its accounts in one statement sorted by id
// (FOR NO KEY UPDATE, READ COMMITTED), applies each request in memory against the locked rows —
// each one all-or-nothing, with its own outcome, idempotency record and audit event — writes the
// whole batch in one statement and commits once. Callers are answered only after that commit. Many
// transfers that share a hot account thus cost one lock acquisition and one commit instead of one
// each, while correctness rests on PostgreSQL alone (row locks, advisory locks for in-flight
// idempotency keys, the (caller, key) unique index, CHECK constraints, the version guard), so any
// number of server instances can share the database.
package ledger
