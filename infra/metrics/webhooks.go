package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	// WebhookAttempts counts webhook delivery attempts by outcome (delivered, http_error,
	// timeout, connection_error, address_refused).
	WebhookAttempts = counterVec("flowxi_webhook_attempts_total", "Webhook delivery attempts by outcome.", "outcome")

	// WebhookDisabled counts subscriptions the server disabled after failing continuously for
	// WEBHOOK_DISABLE_AFTER.
	WebhookDisabled = reg.NewCounter(prometheus.CounterOpts{
		Name: "flowxi_webhook_subscriptions_disabled_total",
		Help: "Webhook subscriptions disabled after failing continuously.",
	})

	// WebhookLag is the time from an event's occurrence (its change's commit) to the 2xx of its
	// first successful delivery.
	WebhookLag = reg.NewHistogram(prometheus.HistogramOpts{
		Name:    "flowxi_webhook_delivery_lag_seconds",
		Help:    "Time from an event to its successful delivery.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
	})
)
