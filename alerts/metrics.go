package alerts

import "github.com/prometheus/client_golang/prometheus"

// Collectors exposes the engine's counters for /metrics: observations
// taken and dropped (queue full), evaluations, episodes, suppressed
// episodes, failed and dropped notifications, and firing alerts now.
func (e *Engine) Collectors() []prometheus.Collector {
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hookscope", Subsystem: "alerts", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	return []prometheus.Collector{
		counter("observed_total", "Captured requests queued for the alert engine.", e.observed.Load),
		counter("dropped_total", "Captured requests the alert engine dropped because its queue was full.", e.dropped.Load),
		counter("evaluations_total", "Rule evaluations (one per rule and bin).", e.evals.Load),
		counter("episodes_total", "Alert episodes entered (firing).", e.firing.Load),
		counter("suppressed_total", "Alert episodes not announced because of the cooldown.", e.suppressed.Load),
		counter("notify_failed_total", "Notifications given up after retries.", e.disp.failed.Load),
		counter("trimmed_total", "Observations forgotten early because a bin exceeded the per-bin cap.", e.win.trimmed.Load),
		counter("notify_queue_drops_total", "Notifications dropped because the notifier queue was full.", e.disp.queueDrops.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hookscope", Subsystem: "alerts", Name: "firing",
			Help: "Alerts currently firing."}, func() float64 { return float64(e.firingNow.Load()) }),
	}
}
