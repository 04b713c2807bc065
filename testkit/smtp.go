package testkit

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/flowxi/backend/config"
)

// Mailbox is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1 that keeps every
// message it receives, so tests read codes and links out of real e-mails sent by the outbox
// worker. Usage:
//
//	mb := testkit.NewMailbox(t)
//	env := testkit.New(t, mb.Use)          // SMTP_URL points at the mailbox
//	m := mb.Next("ada@example.com")        // waits for the next message to that address
//	code := m.OTP()                        // or m.Link()
//
// Stop and Start simulate an SMTP outage on the same address.
type Mailbox struct {
	t    testing.TB
	addr string

	mu     sync.Mutex
	srv    *smtp.Server
	ln     net.Listener
	msgs   []Mail
	cursor map[string]int // per recipient: how many messages Next has returned
}

// Mail is one received message, decoded.
type Mail struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Subject string   // decoded
	Header  mail.Header
	Text    string // text/plain part, decoded
	HTML    string // text/html part, decoded
	Raw     []byte
}

// NewMailbox starts a mailbox on a free port of 127.0.0.1; it stops when the test ends.
func NewMailbox(t testing.TB) *Mailbox {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: mailbox: %v", err)
	}
	m := &Mailbox{t: t, addr: l.Addr().String(), cursor: map[string]int{}}
	m.serve(l)
	t.Cleanup(m.Stop)
	return m
}

// URL is the SMTP_URL of the mailbox (plain SMTP, no TLS: tests only).
func (m *Mailbox) URL() string { return "smtp://" + m.addr + "?tls=none" }

// Use points a test configuration at the mailbox: pass it to testkit.New.
func (m *Mailbox) Use(c *config.Config) { c.SMTPURL = m.URL() }

// Stop closes the server: connections to it are refused until Start.
func (m *Mailbox) Stop() {
	m.mu.Lock()
	srv, ln := m.srv, m.ln
	m.srv, m.ln = nil, nil
	m.mu.Unlock()
	if ln != nil {
		// Closed here too: Serve may not have registered it with the server yet.
		_ = ln.Close()
	}
	if srv != nil {
		_ = srv.Close()
	}
}

// Start listens again on the same address after Stop.
func (m *Mailbox) Start() {
	m.t.Helper()
	l, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.t.Fatalf("testkit: mailbox restart: %v", err)
	}
	m.serve(l)
}

func (m *Mailbox) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: m}, nil }))
	srv.Domain = "mailbox.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	m.mu.Lock()
	m.srv, m.ln = srv, l
	m.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// All returns every message received so far.
func (m *Mailbox) All() []Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mail(nil), m.msgs...)
}

// To returns every message received so far for addr (case-insensitive).
func (m *Mailbox) To(addr string) []Mail {
	var out []Mail
	for _, msg := range m.All() {
		if msg.sentTo(addr) {
			out = append(out, msg)
		}
	}
	return out
}

// Next waits (up to 10 s) for the next message to addr that Next has not returned yet, and
// fails the test when none arrives.
func (m *Mailbox) Next(addr string) Mail {
	m.t.Helper()
	key := strings.ToLower(addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := m.To(addr)
		m.mu.Lock()
		i := m.cursor[key]
		if i < len(got) {
			m.cursor[key] = i + 1
			m.mu.Unlock()
			return got[i]
		}
		m.mu.Unlock()
		if time.Now().After(deadline) {
			m.t.Fatalf("testkit: no e-mail to %s within 10s (%d received in all)", addr, len(m.All()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	otpRe  = regexp.MustCompile(`(?m)(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`)
	linkRe = regexp.MustCompile(`https?://[^\s<>"]+`)
)

// OTP returns the first stand-alone 6-digit number of the text part ("" if none).
func (ml Mail) OTP() string {
	if s := otpRe.FindStringSubmatch(ml.Text); s != nil {
		return s[1]
	}
	return ""
}

// Link returns the first http(s) URL of the text part ("" if none).
func (ml Mail) Link() string { return linkRe.FindString(ml.Text) }

func (ml Mail) sentTo(addr string) bool {
	for _, to := range ml.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}

type smtpSession struct {
	box  *Mailbox
	from string
	to   []string
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := parseMail(raw)
	if err != nil {
		return fmt.Errorf("testkit: unreadable message: %w", err)
	}
	msg.From, msg.To = s.from, append([]string(nil), s.to...)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, msg)
	s.box.mu.Unlock()
	return nil
}

func parseMail(raw []byte) (Mail, error) {
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	out := Mail{Header: pm.Header, Raw: raw}
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject")); err != nil {
		return Mail{}, err
	}
	err = walkPart(pm.Header.Get("Content-Type"), pm.Header.Get("Content-Transfer-Encoding"), pm.Body, &out)
	return out, err
}

// walkPart decodes a (possibly multipart) body into the text and HTML fields.
func walkPart(ctype, cte string, body io.Reader, out *Mail) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		out.Text = string(b)
	case "text/html":
		out.HTML = string(b)
	}
	return nil
}

// newlineStripper drops CR and LF so base64 bodies split into lines decode.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	buf := make([]byte, len(p))
	k, err := n.r.Read(buf)
	j := 0
	for _, c := range buf[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
