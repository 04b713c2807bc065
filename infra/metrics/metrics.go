// Package metrics holds the Prometheus registry and the metrics every layer records: request
// latency by operation, status codes, rate-limit rejections, the mail outbox, storage deletions,
// ledger postings, background jobs (depth by queue and state, failures), the events feed's lag.
// They are served on a separate listener (METRICS_ADDR), never on the public API port.
package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Registry is the process registry (Go runtime and process collectors included).
var Registry = prometheus.NewRegistry()

// reg makes the metrics of this package, each registered in Registry as it is made.
var reg = promauto.With(Registry)

// counterVec makes a registered counter by labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return reg.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

var (
	// RequestDuration is the latency of API requests by operationId, method and status.
	RequestDuration = reg.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "flowxi_http_request_duration_seconds",
		Help:    "API request latency by operation id and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"operation", "method", "status"})

	// RateLimited counts refusals by limiter name.
	RateLimited = counterVec("flowxi_rate_limit_rejections_total", "Requests refused by a rate limit, by limit name.", "limit")

	// MailSent counts outbox deliveries by result (sent, retry, failed).
	MailSent = counterVec("flowxi_mail_deliveries_total", "Outbox delivery attempts by result.", "result")

	// StorageDeletions counts object deletions by result (deleted, retry): retries that keep
	// growing mean object storage refuses deletes and unreferenced objects are piling up.
	StorageDeletions = counterVec("flowxi_storage_deletions_total", "Storage object deletion attempts by result.", "result")

	// LedgerPostings counts ledger transactions by kind and status.
	LedgerPostings = counterVec("flowxi_ledger_postings_total", "Ledger transactions recorded, by kind and status.", "kind", "status")
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// scrapedGauge registers a gauge computed on each scrape by the func given to the setter it
// returns (0 until one is set): a value read from PostgreSQL, which this package cannot reach.
func scrapedGauge(name, help string) (set func(f func() float64)) {
	var compute atomic.Pointer[func() float64]
	reg.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		if f := compute.Load(); f != nil {
			return (*f)()
		}
		return 0
	})
	return func(f func() float64) { compute.Store(&f) }
}

var setOutboxBacklog = scrapedGauge("flowxi_mail_outbox_pending", "E-mails waiting in the outbox.")

// SetOutboxBacklog sets how the outbox backlog gauge is computed on scrape.
func SetOutboxBacklog(f func() float64) { setOutboxBacklog(f) }

// JobFailures counts failed job attempts by queue, kind and outcome: "retry" (River tries it
// again later), "discarded" (its last attempt: given up), "cancelled" (the worker said retrying
// cannot help) or "panic".
var JobFailures = counterVec("flowxi_jobs_failures_total", "Failed background job attempts by queue, kind and outcome.", "queue", "kind", "outcome")

// JobCount is the number of jobs of one queue in one state.
type JobCount struct {
	Queue, State string
	N            float64
}

var jobDepth atomic.Pointer[func() []JobCount]

var jobDepthDesc = prometheus.NewDesc("flowxi_jobs", "Background jobs by queue and state (available, scheduled, retryable, running, discarded).", []string{"queue", "state"}, nil)

// depthCollector reads the job counts on scrape.
type depthCollector struct{}

func (depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobDepthDesc }

func (depthCollector) Collect(ch chan<- prometheus.Metric) {
	f := jobDepth.Load()
	if f == nil {
		return
	}
	for _, c := range (*f)() {
		ch <- prometheus.MustNewConstMetric(jobDepthDesc, prometheus.GaugeValue, c.N, c.Queue, c.State)
	}
}

func init() { Registry.MustRegister(depthCollector{}) }

// SetJobDepth sets how the job gauge is computed on scrape.
func SetJobDepth(f func() []JobCount) { jobDepth.Store(&f) }
