package ingest

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the capture path and the log consumers, in Prometheus form.
type Metrics struct {
	Refused      *prometheus.CounterVec
	WriteErrors  prometheus.Counter
	RowsWritten  prometheus.Counter
	BatchSize    prometheus.Histogram
	FlushLatency prometheus.Histogram
	Undecodable  prometheus.Counter

	// appended and written feed hookscope_writer_queue_depth.
	appended, written atomic.Int64
}

// NewMetrics builds unregistered metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookscope_capture_refused_total", Help: "Requests answered 503 because the capture log refused them (reason: full or unavailable)."},
			[]string{"reason"}),
		WriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_writer_failures_total", Help: "Batch writes the store rejected (each is retried)."}),
		RowsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_writer_rows_total", Help: "Requests written from the capture log to the store."}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookscope_writer_batch_size", Help: "Requests per store batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9)}),
		FlushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookscope_writer_flush_seconds", Help: "Time to write one batch to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		Undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_log_undecodable_total", Help: "Capture log records that passed their checksum but did not decode (skipped)."}),
	}
}

// Register adds the metrics to reg. backlog reports the store writer's
// backlog in the log (records not yet committed); nil counts what this
// process appended and has not written.
func (m *Metrics) Register(reg prometheus.Registerer, backlog func() float64) error {
	if backlog == nil {
		backlog = func() float64 { return float64(max(m.appended.Load()-m.written.Load(), 0)) }
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookscope_writer_queue_depth",
		Help: "Captured requests waiting in the capture log for the store writer.",
	}, backlog)
	for _, c := range []prometheus.Collector{m.Refused, m.WriteErrors, m.RowsWritten, m.BatchSize, m.FlushLatency, m.Undecodable, depth} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) observeFlush(rows int, d time.Duration, err error) {
	m.FlushLatency.Observe(d.Seconds())
	if err != nil {
		m.WriteErrors.Inc()
		return
	}
	m.BatchSize.Observe(float64(rows))
	m.RowsWritten.Add(float64(rows))
	m.written.Add(int64(rows))
}
