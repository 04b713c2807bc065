// Package privacy owns what the platform does with a person's data as a whole: the personal data
// export (GET /api/v1/me/export for the user, GET /api/v1/internal/support/users/{id}/export for
// support; one JSON document, every table that holds something about the user) and the erasure
// after closure (Eraser: a background worker that pseudonymizes a closed account once
// ERASURE_RETENTION has passed, keeping the money records and the audit chain intact).
//
// Coverage is a contract checked by a test that reads the schema: every table with a user_id
// column or a foreign key to users is either exported (Covered) or listed, with its reason, in
// Excluded.
package privacy
