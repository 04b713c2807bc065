package app

import (
	"errors"

	"github.com/flowxi/backend/infra/mail"
)

// mailWorker builds the outbox sender: SMTP when SMTP_URL is set, otherwise the log driver
// (development only: config.Validate requires SMTP_URL in production). In development the log
// driver prints the text body too, so a developer can read codes and links locally.
func (a *App) mailWorker() (*mail.Worker, error) {
	var tr mail.Transport = mail.Log{Log: a.Log, ShowBody: !a.Cfg.Production()}
	if a.Cfg.SMTPURL != "" {
		sc, err := mail.ParseSMTPURL(a.Cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		if a.Cfg.Production() && (sc.TLS == "none" || sc.TLS == "opportunistic") {
			return nil, errors.New("mail: SMTP_URL must use TLS (smtps:// or smtp:// with STARTTLS) in production")
		}
		tr = mail.NewSMTP(sc)
	}
	return &mail.Worker{
		Q:         a.Store.Q,
		Outbox:    a.Outbox,
		Transport: tr,
		Clock:     a.Clock,
		Log:       a.Log.With("worker", "mail"),
		From:      a.Cfg.MailFrom,
		Poll:      a.Cfg.MailPollInterval,
	}, nil
}
