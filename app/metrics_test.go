package app_test

import (
	"testing"
	"time"

	"github.com/flowxi/backend/infra/jobs"
	"github.com/flowxi/backend/services/ledger"
	"github.com/flowxi/backend/testkit"
)

const (
	postedTransfers = `flowxi_ledger_postings_total{kind="transfer",status="posted"}`
	failedTransfers = `flowxi_ledger_postings_total{kind="transfer",status="failed"}`
	postedDeposits  = `flowxi_ledger_postings_total{kind="deposit",status="posted"}`
	mailSent        = `flowxi_mail_deliveries_total{result="sent"}`
	mailRetry       = `flowxi_mail_deliveries_total{result="retry"}`
	mailFailed      = `flowxi_mail_deliveries_total{result="failed"}`
)

// The declared ledger and mail counters move with their events: a deposit, a transfer and a
// refused transfer (recorded as failed) are postings by kind and status; a delivered e-mail is
// "sent", one the SMTP server did not take is "retry".
func TestLedgerAndMailMetricsCount(t *testing.T) {
	mb := testkit.NewMailbox(t)
	env := testkit.New(t, mb.Use)
	money := testkit.NewMoney(env, ledger.ScopeDeposit)
	ada, bob := env.CreateUser(), env.CreateUser()
	wa := money.Wallet(ada, "EUR")
	money.Wallet(bob, "EUR")
	before := env.Metrics(t)

	money.Deposit(wa, 1000, "EUR")
	transfer := func(amount int64) *testkit.Resp { return money.Transfer(ada, wa, bob.Username, amount, "EUR") }
	if r := transfer(300); r.Status != 201 {
		t.Fatalf("transfer: %d %s", r.Status, r.Body)
	}
	if r := transfer(5000); r.Code() != "INSUFFICIENT_FUNDS" {
		t.Fatalf("refused transfer: %d %s", r.Status, r.Body)
	}

	sendCode := func() string {
		email := "metrics-" + testkit.RandomHex(4) + "@example.com"
		if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}}); r.Status != 200 {
			t.Fatalf("send code: %d %s", r.Status, r.Body)
		}
		return email
	}
	mb.Next(sendCode())
	waitMetric(t, env, before, mailSent, 1)
	mb.Stop()
	deferred := sendCode()
	after := waitMetric(t, env, before, mailRetry, 1)
	// Nothing is left for a later attempt (the package's other tests read the outbox).
	if err := env.TryExecSQL("DELETE FROM mail_outbox WHERE to_address = $1", deferred); err != nil {
		t.Fatal(err)
	}

	for series, want := range map[string]float64{postedDeposits: 1, postedTransfers: 1, failedTransfers: 1, mailSent: 1, mailRetry: 1, mailFailed: 0} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
}

// waitMetric scrapes until series has moved by want since before (the worker counts after the
// SMTP answer, a moment after the mailbox has the message), and returns that scrape.
func waitMetric(t *testing.T, env *testkit.Env, before map[string]float64, series string, want float64) map[string]float64 {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m := env.Metrics(t)
		if m[series]-before[series] >= want || time.Now().After(deadline) {
			return m
		}
	}
}

// Background jobs are in /metrics: every queue's jobs by state (present at 0 too), and failed
// attempts by queue, kind and outcome. An e-mail the SMTP server refuses is one failed attempt
// and one job waiting for its retry; an upload guard is a job scheduled for later.
func TestJobMetrics(t *testing.T) {
	mb := testkit.NewMailbox(t)
	mb.Stop()
	env := testkit.New(t, mb.Use)
	depth := func(queue, state string) string {
		return `flowxi_jobs{queue="` + queue + `",state="` + state + `"}`
	}
	before := env.Metrics(t)
	for _, q := range []string{"default", "mail", "storage"} {
		for _, s := range jobs.States {
			if _, ok := before[depth(q, s)]; !ok {
				t.Fatalf("%s missing", depth(q, s))
			}
		}
	}
	const mailRetries = `flowxi_jobs_failures_total{kind="mail.send",outcome="retry",queue="mail"}`
	email := "jobs-" + testkit.RandomHex(4) + "@example.com"
	if r := env.Do(testkit.Req{Method: "POST", Path: "/api/v1/register-email-code/send", JSON: map[string]any{"email": email}}); r.Status != 200 {
		t.Fatalf("send code: %d %s", r.Status, r.Body)
	}
	waitMetric(t, env, before, mailRetries, 1)
	if err := env.Deletions().Guard(t.Context(), "test/metrics-"+testkit.RandomHex(4)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !env.JobsSettled() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	after := env.Metrics(t)
	for series, want := range map[string]float64{mailRetries: 1, depth("mail", "retryable"): 1, depth("storage", "scheduled"): 1, depth("mail", "running"): 0} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	// Nothing is left for a later attempt (the package's other tests read the outbox).
	if err := env.TryExecSQL("DELETE FROM mail_outbox WHERE to_address = $1", email); err != nil {
		t.Fatal(err)
	}
}
