package main

import (
	"sync"
	"time"
)

// MemoryRow is peak RSS over sustained capture at the highest connection
// count, one fresh hookscope process per run.
type MemoryRow struct {
	Target      string  `json:"target"`
	Connections int     `json:"connections"`
	Seconds     int     `json:"seconds"`
	RPS         Summary `json:"rps"`
	PeakRSSMB   Summary `json:"peak_rss_mb"` // VmHWM
	// RSS in the first and the last tenth of each run (median over runs):
	// equal-ish means nothing grows with the number of requests.
	EarlyRSSMB  Summary `json:"early_rss_mb"`
	LateRSSMB   Summary `json:"late_rss_mb"`
	Answered2xx int64   `json:"answered_2xx"`
	Persisted   int64   `json:"persisted"`
}

func (h *harness) runMemory() (MemoryRow, error) {
	conns := h.conns[len(h.conns)-1]
	row := MemoryRow{Target: "embedded", Connections: conns, Seconds: int(h.memoryDur.Seconds())}
	var rps, peak, early, late []float64
	for run := 0; run < h.runs; run++ {
		hs, err := h.startHookscope("hookscope-memory", h.tmpPath("memory-"+string(rune('a'+run))))
		if err != nil {
			return row, err
		}
		bin, err := createBin(hs.addr)
		if err != nil {
			hs.stop()
			return row, err
		}
		var samples []float64
		var mu sync.Mutex
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if kb, err := procStatus(hs.pid(), "VmRSS"); err == nil {
						mu.Lock()
						samples = append(samples, float64(kb)/1024)
						mu.Unlock()
					}
				}
			}
		}()
		r, err := h.wrk(captureTarget{p: hs, bin: bin}.url(), conns, h.memoryDur)
		close(stop)
		<-done
		if err != nil {
			hs.stop()
			return row, err
		}
		n := waitPersisted(hs.addr, bin, r.Requests-r.Non2xx)
		hwm, err := procStatus(hs.pid(), "VmHWM")
		hs.stop()
		if err != nil {
			return row, err
		}
		row.Answered2xx += r.Requests - r.Non2xx
		row.Persisted += n
		rps = append(rps, r.rps())
		peak = append(peak, float64(hwm)/1024)
		k := max(1, len(samples)/10)
		early = append(early, maxOf(samples[:k]))
		late = append(late, maxOf(samples[len(samples)-k:]))
		h.progress("memory run %d/%d c=%d %ds: %.0f req/s, peak RSS %.0f MB (early %.0f, late %.0f)",
			run+1, h.runs, conns, row.Seconds, r.rps(), peak[len(peak)-1], early[len(early)-1], late[len(late)-1])
	}
	row.RPS, row.PeakRSSMB, row.EarlyRSSMB, row.LateRSSMB = summarize(rps), summarize(peak), summarize(early), summarize(late)
	return row, nil
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
