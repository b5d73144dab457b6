package disklog

import (
	"testing"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/prometheus/client_golang/prometheus"
)

// The collector registers cleanly and exposes counts, size and lag.
func TestCollector(t *testing.T) {
	l := open(t, t.TempDir(), Options{})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(l.Collector()); err != nil {
		t.Fatal(err)
	}
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 5, 100)
	b, err := c.Fetch(ctx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, lp := range m.GetLabel() {
				name += "{" + lp.GetName() + "=" + lp.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[name] = m.GetGauge().GetValue()
			}
		}
	}
	for name, want := range map[string]float64{
		"hookscope_caplog_records_total":                5,
		"hookscope_caplog_appends_total":                5,
		"hookscope_caplog_consumer_lag{consumer=store}": 3,
		"hookscope_caplog_segments":                     1,
		"hookscope_caplog_corrupt_frames_total":         0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if got["hookscope_caplog_bytes"] < 5*100 || got["hookscope_caplog_syncs_total"] < 1 {
		t.Errorf("bytes %v, syncs %v", got["hookscope_caplog_bytes"], got["hookscope_caplog_syncs_total"])
	}
	if len(got) != 13 {
		t.Errorf("%d series exposed, want 13: %v", len(got), got)
	}
}
