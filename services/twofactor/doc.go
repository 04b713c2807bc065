// Package twofactor implements TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s,
// ±1 step): enrollment (a pending secret in Redis, bound to the token that asked for it,
// committed encrypted to PostgreSQL once a code proves it), the second step of a 2FA login,
// step-up for sensitive actions, disabling, and single-use recovery codes.
//
// Every use of a second factor goes through the same path: the per-account guessing budget
// (ratelimit.Budget, the shape login and e-mailed codes use too) is checked first (at most 10
// wrong factors per 15 min whatever the flow, then 429 and one e-mail to the owner), the code
// is matched without writing, and the factor is then claimed with a conditional UPDATE — a
// TOTP time step at most once per user, a recovery code once — so a replayed or raced code is
// refused by the database, not by a check that could interleave.
package twofactor
