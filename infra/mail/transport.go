package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Envelope is one rendered message ready to leave: what the worker hands a transport.
type Envelope struct {
	ID       int64 // outbox row id (used for the Message-ID, so a retried message is recognisable)
	From     string
	To       string
	Template string
	Locale   string
	Subject  string
	Body     Body
}

// Transport delivers envelopes. Send returns one error per envelope (nil when delivered); a
// connection failure fails them all.
type Transport interface {
	Send(ctx context.Context, batch []Envelope) []error
}

// SMTPConfig is a parsed SMTP_URL.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "implicit" (smtps://), "starttls" (smtp://, the default), "opportunistic" or "none"
	// (smtp://…?tls=opportunistic|none: local relays and tests only; refused in production).
	TLS string
}

// ParseSMTPURL reads SMTP_URL: smtps://user:pass@host[:465] (implicit TLS),
// smtp://user:pass@host[:587] (STARTTLS required), or smtp://host:port?tls=none|opportunistic.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("mail: SMTP_URL is not a URL")
	}
	c := SMTPConfig{Host: u.Hostname()}
	switch u.Scheme {
	case "smtps":
		c.TLS, c.Port = "implicit", 465
	case "smtp":
		c.TLS, c.Port = "starttls", 587
		switch t := u.Query().Get("tls"); t {
		case "", "starttls":
		case "none", "opportunistic":
			c.TLS = t
		default:
			return SMTPConfig{}, fmt.Errorf("mail: SMTP_URL: unknown tls=%q", t)
		}
	default:
		return SMTPConfig{}, fmt.Errorf("mail: SMTP_URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if c.Host == "" {
		return SMTPConfig{}, errors.New("mail: SMTP_URL has no host")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			return SMTPConfig{}, errors.New("mail: SMTP_URL port is not a number")
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// SMTP sends over SMTP with github.com/wneessen/go-mail, one connection per batch.
type SMTP struct {
	cfg     SMTPConfig
	timeout time.Duration
}

// NewSMTP builds the SMTP transport.
func NewSMTP(cfg SMTPConfig) *SMTP { return &SMTP{cfg: cfg, timeout: 15 * time.Second} }

func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.timeout)}
	switch s.cfg.TLS {
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Send delivers the batch over one connection.
func (s *SMTP) Send(ctx context.Context, batch []Envelope) []error {
	errs := make([]error, len(batch))
	fill := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	c, err := s.client()
	if err != nil {
		return fill(err)
	}
	if err := c.DialWithContext(ctx); err != nil {
		return fill(fmt.Errorf("mail: connect: %w", err))
	}
	defer func() { _ = c.Close() }()
	for i, e := range batch {
		m, err := buildMsg(e)
		if err == nil {
			err = c.Send(m)
		}
		errs[i] = err
	}
	return errs
}

func buildMsg(e Envelope) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(e.From); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	if err := m.To(e.To); err != nil {
		return nil, fmt.Errorf("mail: to: %w", err)
	}
	m.Subject(e.Subject)
	m.SetDate()
	m.SetMessageIDWithValue("outbox-" + strconv.FormatInt(e.ID, 10) + "@flowxi")
	m.SetGenHeader(gomail.HeaderContentLang, e.Locale)
	m.SetBodyString(gomail.TypeTextPlain, e.Body.Text)
	if e.Body.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.Body.HTML)
	}
	return m, nil
}

// Log is the transport used without SMTP_URL (local development): it writes each message's
// metadata to the log and, when ShowBody is set (development only), its text body too, so a
// developer can read the code or link. It always succeeds.
type Log struct {
	Log      *slog.Logger
	ShowBody bool
}

// Send logs the batch.
func (l Log) Send(ctx context.Context, batch []Envelope) []error {
	for _, e := range batch {
		attrs := []any{"outbox_id", e.ID, "to", e.To, "template", e.Template, "locale", e.Locale, "subject", e.Subject}
		if l.ShowBody {
			attrs = append(attrs, "text", e.Body.Text)
		}
		l.Log.InfoContext(ctx, "mail (log driver: SMTP_URL unset)", attrs...)
	}
	return make([]error, len(batch))
}
