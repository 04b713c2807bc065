package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flowxi/backend/infra/metrics"
)

// OpsHandler serves the operations listener: Prometheus metrics, liveness and readiness. It is
// bound to METRICS_ADDR, never to the public API address.
func (a *App) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/readyz", a.readyz)
	return mux
}

// readyz answers 200 when every dependency answers, else 503; the body names each one's state
// ("postgres ok", "redis fail: …"), so a balancer takes the instance out while Redis or the
// primary is away (login and 2FA would refuse 503 there anyway) and an operator sees which.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := []struct {
		name string
		err  error
	}{{"postgres", a.store.Ping(ctx)}, {"redis", a.cache.Ping(ctx)}}
	status, body := http.StatusOK, ""
	for _, c := range checks {
		if c.err != nil {
			status = http.StatusServiceUnavailable
			body += c.name + " fail\n"
			a.log.Warn("readyz", "dependency", c.name, "error", c.err.Error())
			continue
		}
		body += c.name + " ok\n"
	}
	if a.reads != nil {
		// A lagging replica does not make the instance unready: its reads go to the primary.
		where := "replica"
		if !a.reads.OnReplica() {
			where = "primary"
		}
		body += fmt.Sprintf("postgres-read %s (replica lag %v)\n", where, a.reads.Lag())
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
