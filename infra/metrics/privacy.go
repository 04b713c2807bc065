package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ErasureDone counts closed accounts whose personal data the erasure worker pseudonymized.
var ErasureDone = reg.NewCounter(prometheus.CounterOpts{
	Name: "flowxi_erasure_done_total",
	Help: "Closed accounts whose personal data was erased.",
})

var erasureBacklog atomic.Pointer[func() (retained, due float64)]

// erasurePending reads one side of the backlog on scrape.
func erasurePending(due bool) func() float64 {
	return func() float64 {
		f := erasureBacklog.Load()
		if f == nil {
			return 0
		}
		r, d := (*f)()
		if due {
			return d
		}
		return r
	}
}

func init() {
	for _, state := range []string{"retained", "due"} {
		reg.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "flowxi_erasure_pending",
			Help:        "Closed accounts not erased yet: within the retention (retained), or past it and waiting for the worker (due).",
			ConstLabels: prometheus.Labels{"state": state},
		}, erasurePending(state == "due"))
	}
}

// SetErasureBacklog sets how the erasure backlog gauges are computed on scrape.
func SetErasureBacklog(f func() (retained, due float64)) { erasureBacklog.Store(&f) }
