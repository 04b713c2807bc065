package app

import "github.com/flowxi/backend/services/registration"

// registration builds the registration and password-reset service; second is the 2FA service
// (a password reset of a 2FA user needs a TOTP or recovery code).
func (a *App) registration(second registration.SecondFactor) *registration.Registration {
	guesses, window := a.Cfg.GuessBudget()
	return registration.New(registration.Deps{
		Store: a.Store, Clock: a.Clock, Keys: a.Keys, Hasher: a.Hasher, Tokens: a.Tokens,
		Limiter: a.Limiter, Outbox: a.Outbox, FrontendURL: a.Cfg.FrontendURL, SecondFactor: second,
		ResetGuesses:    a.Limiter.Budget("pwreset.code", guesses, window),
		RegisterGuesses: a.Limiter.Budget("reg.code", guesses, window),
	})
}
