// Package mail renders localized e-mails and writes them to the outbox, with the River job that
// sends them (mail.send), in the caller's transaction, so a message exists exactly when what it
// announces was committed. Bodies carry
// codes and links, so they are encrypted at rest (AES-256-GCM) and wiped once sent.
package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"text/template"
	"time"

	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/infra/secrets"
	"github.com/flowxi/backend/locales"
)

// Message is one e-mail to render: template name (files locales/<lang>/mail/<name>.subject.txt,
// <name>.txt and <name>.html) and its data.
type Message struct {
	To       string
	Template string
	Locale   string
	Data     map[string]any
}

// Time renders an instant the way every e-mail shows it ({{.Time}} in the templates): RFC 1123,
// in UTC.
func Time(t time.Time) string { return t.UTC().Format(time.RFC1123) }

// Body is what the outbox stores encrypted.
type Body struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// Outbox renders and enqueues messages.
type Outbox struct {
	keys *secrets.Keys
	jobs *jobs.Jobs
}

// NewOutbox builds an outbox that encrypts bodies with keys and queues their delivery on j.
func NewOutbox(keys *secrets.Keys, j *jobs.Jobs) *Outbox { return &Outbox{keys: keys, jobs: j} }

// Render builds the subject and bodies of m.
func Render(m Message) (subject string, body Body, err error) {
	base := m.Locale + "/mail/" + m.Template
	subject, err = renderText(base+".subject.txt", m.Data)
	if err != nil {
		return "", Body{}, err
	}
	if body.Text, err = renderText(base+".txt", m.Data); err != nil {
		return "", Body{}, err
	}
	src, err := locales.FS.ReadFile(base + ".html")
	if err != nil {
		return "", Body{}, fmt.Errorf("mail: template %s.html: %w", base, err)
	}
	t, err := htmltemplate.New(m.Template).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", Body{}, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, m.Data); err != nil {
		return "", Body{}, err
	}
	body.HTML = buf.String()
	return string(bytes.TrimSpace([]byte(subject))), body, nil
}

func renderText(name string, data map[string]any) (string, error) {
	src, err := locales.FS.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("mail: template %s: %w", name, err)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// Enqueue renders m and writes it to the outbox with q, and the job that sends it, both in the
// caller's transaction (q is the one of Store.Tx).
func (o *Outbox) Enqueue(ctx context.Context, q *db.Queries, now time.Time, m Message) (int64, error) {
	subject, body, err := Render(m)
	if err != nil {
		return 0, err
	}
	plain, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	// The row id is not known before the insert, so the AAD binds the body to its recipient
	// and template instead.
	enc, err := o.keys.Encrypt(plain, aad(m.To, m.Template))
	if err != nil {
		return 0, err
	}
	id, err := q.EnqueueMail(ctx, db.EnqueueMailParams{
		ToAddress: m.To, Template: m.Template, Locale: m.Locale, Subject: subject, BodyEnc: enc, NextAttemptAt: now,
	})
	if err != nil {
		return 0, err
	}
	return id, o.jobs.Insert(ctx, q, SendArgs{OutboxID: id}, nil)
}

// Open decrypts a stored body.
func (o *Outbox) Open(to, template string, enc []byte) (Body, error) {
	plain, err := o.keys.Decrypt(enc, aad(to, template))
	if err != nil {
		return Body{}, err
	}
	var b Body
	err = json.Unmarshal(plain, &b)
	return b, err
}

func aad(to, template string) []byte {
	return []byte("mail:" + strconv.Itoa(len(to)) + ":" + to + ":" + template)
}
