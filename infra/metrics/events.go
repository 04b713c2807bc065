package metrics

var setEventsLag = scrapedGauge("flowxi_events_unsequenced_age_seconds",
	"Age of the oldest committed domain event not yet given a feed position by the sequencer (0: none waiting).")

// SetEventsLag sets how the events feed-lag gauge (seconds) is computed on scrape.
func SetEventsLag(f func() float64) { setEventsLag(f) }
