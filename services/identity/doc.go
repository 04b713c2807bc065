// Package identity owns password login, the device-bound sessions it opens, logout (current
// token, one device, every other device) and the device list.
//
// Login is built so that its failures say nothing: an unknown e-mail, a wrong password and a
// non-active account all cost exactly one argon2id verification (a dummy hash stands in for
// the missing one), write the same audit event and answer the same 401 INVALID_CREDENTIALS.
// Rate limits are counted before the password is looked at: per client address (an IPv4
// address or an IPv6 /64, ratelimit.Network) and per e-mail + address, and the per-e-mail
// guessing budget (ratelimit.Budget: 10 wrong passwords per 15 minutes from anywhere, then 429
// for everyone trying that e-mail, and one e-mail to the owner). A right password is audited
// before the token or challenge is made, so a failure there still leaves the trace.
// A successful login either issues
// the token through sessions.Complete (shared with 2FA verify-login, so both give the same
// one-token-per-device guarantee) or, for a 2FA user, leaves a challenge in Redis.
package identity
