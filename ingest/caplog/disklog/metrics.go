package disklog

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the log's counters. All fields only grow.
type Metrics struct {
	Appends         atomic.Uint64 // Append calls that succeeded
	Records         atomic.Uint64 // entries those calls carried
	Syncs           atomic.Uint64 // fdatasync calls of the write path
	SyncedRecords   atomic.Uint64 // records covered by them (Records/Syncs: the group-commit factor)
	FullRefusals    atomic.Uint64 // Appends refused with ErrFull
	WriteErrors     atomic.Uint64 // failed writes, syncs and rotations
	CorruptFrames   atomic.Uint64 // damaged regions skipped (each counted once)
	CorruptBytes    atomic.Uint64 // bytes in them
	TornTruncations atomic.Uint64 // torn tails cut off at open
	TruncatedBytes  atomic.Uint64 // bytes cut off
	SegmentsDeleted atomic.Uint64 // segments removed by retention
}

// Stats is a point-in-time view of the log.
type Stats struct {
	Bytes     int64             // on disk plus pending
	Segments  int               // segment files
	Last      uint64            // the newest position handed out
	Positions map[string]uint64 // persisted consumer positions
}

// Stats returns the current size and consumer positions.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{Bytes: l.total, Segments: len(l.segs), Last: l.nextSeq - 1, Positions: make(map[string]uint64, len(l.saved))}
	for k, v := range l.saved {
		st.Positions[k] = v
	}
	return st
}

// Collector exposes the log in Prometheus form (hookscope_caplog_*); the
// caller registers it.
func (l *Log) Collector() prometheus.Collector { return &collector{l: l} }

type collector struct{ l *Log }

var (
	descCounter = func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("hookscope_caplog_"+name, help, nil, nil)
	}
	dAppends   = descCounter("appends_total", "Append calls that succeeded.")
	dRecords   = descCounter("records_total", "Records appended.")
	dSyncs     = descCounter("syncs_total", "fdatasync calls of the write path (group commits).")
	dSynced    = descCounter("synced_records_total", "Records covered by those syncs.")
	dFull      = descCounter("full_total", "Appends refused because the log reached its size cap.")
	dWriteErr  = descCounter("write_errors_total", "Failed segment writes, syncs and rotations.")
	dCorrupt   = descCounter("corrupt_frames_total", "Damaged regions of the log skipped by readers.")
	dCorruptB  = descCounter("corrupt_bytes_total", "Bytes in damaged regions.")
	dTorn      = descCounter("torn_truncations_total", "Torn tails truncated when the log was opened.")
	dDeleted   = descCounter("segments_deleted_total", "Segments deleted by retention.")
	dBytes     = descCounter("bytes", "Bytes of the log on disk plus pending writes.")
	dSegments  = descCounter("segments", "Segment files.")
	dLag       = prometheus.NewDesc("hookscope_caplog_consumer_lag", "Records between the newest position and a consumer's committed position.", []string{"consumer"}, nil)
	allCounter = []*prometheus.Desc{dAppends, dRecords, dSyncs, dSynced, dFull, dWriteErr, dCorrupt, dCorruptB, dTorn, dDeleted}
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allCounter {
		ch <- d
	}
	ch <- dBytes
	ch <- dSegments
	ch <- dLag
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.l.m
	vals := []uint64{m.Appends.Load(), m.Records.Load(), m.Syncs.Load(), m.SyncedRecords.Load(), m.FullRefusals.Load(),
		m.WriteErrors.Load(), m.CorruptFrames.Load(), m.CorruptBytes.Load(), m.TornTruncations.Load(), m.SegmentsDeleted.Load()}
	for i, d := range allCounter {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(vals[i]))
	}
	st := c.l.Stats()
	ch <- prometheus.MustNewConstMetric(dBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(dSegments, prometheus.GaugeValue, float64(st.Segments))
	for name, p := range st.Positions {
		ch <- prometheus.MustNewConstMetric(dLag, prometheus.GaugeValue, float64(st.Last-min(p, st.Last)), name)
	}
}
