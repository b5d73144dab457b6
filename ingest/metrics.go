package ingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the capture path and the storage writer, in Prometheus form.
type Metrics struct {
	QueueDepth   prometheus.Gauge
	Overflowed   prometheus.Counter
	Refused      prometheus.Counter
	SpoolErrors  prometheus.Counter
	WriteErrors  prometheus.Counter
	RowsWritten  prometheus.Counter
	BatchSize    prometheus.Histogram
	FlushLatency prometheus.Histogram
}

// NewMetrics builds unregistered metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookscope_writer_queue_depth", Help: "Captured requests waiting in memory for the store."}),
		Overflowed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_writer_overflow_total", Help: "Requests sent straight to the spool because memory was full."}),
		Refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_capture_refused_total", Help: "Requests answered 503 because queue and spool were full."}),
		SpoolErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_spool_errors_total", Help: "Spool appends that failed."}),
		WriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_writer_failures_total", Help: "Batch writes the store rejected."}),
		RowsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_writer_rows_total", Help: "Requests written to the store."}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookscope_writer_batch_size", Help: "Requests per store batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9)}),
		FlushLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hookscope_writer_flush_seconds", Help: "Time to write one batch to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
}

// Register adds the metrics and a spool-size gauge to reg.
func (m *Metrics) Register(reg prometheus.Registerer, spool *Spool) error {
	cs := []prometheus.Collector{m.QueueDepth, m.Overflowed, m.Refused, m.SpoolErrors, m.WriteErrors, m.RowsWritten, m.BatchSize, m.FlushLatency}
	if spool != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookscope_spool_bytes", Help: "Bytes waiting in the on-disk spool."},
			func() float64 { return float64(spool.Bytes()) }))
	}
	for _, c := range cs {
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
}
