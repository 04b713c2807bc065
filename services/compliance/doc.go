// Package compliance owns KYC/KYB cases (personal and company data, documents, the review state
// machine), account restrictions, blocking and closure, and the send policy the ledger consults
// before money leaves an account (DESIGN §6).
//
// Every case status change goes through one function, transition, which checks the one
// transition table, persists the move with its actor, reason and time, and writes the audit
// event in the same transaction.
package compliance
