package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is the WRKJSON line bench/wrk/post.lua prints.
type wrkResult struct {
	Requests     int64   `json:"requests"`
	DurationUS   int64   `json:"duration_us"`
	Non2xx       int64   `json:"non2xx"`
	SocketErrors int64   `json:"socket_errors"`
	LatMeanUS    float64 `json:"lat_mean_us"`
	LatP50US     float64 `json:"lat_p50_us"`
	LatP90US     float64 `json:"lat_p90_us"`
	LatP99US     float64 `json:"lat_p99_us"`
	LatMaxUS     float64 `json:"lat_max_us"`

	cpuPerReq      float64 // server CPU µs per request, filled by the harness
	storeCPUPerReq float64 // clickhouse-server CPU µs per request, when the harness started it
	sustained      float64 // persisted req/s, filled by the harness
}

func (w wrkResult) rps() float64 {
	if w.DurationUS == 0 {
		return 0
	}
	return float64(w.Requests) / (float64(w.DurationUS) / 1e6)
}

// wrk runs the load generator against url with conns connections.
func (h *harness) wrk(url string, conns int, d time.Duration) (wrkResult, error) {
	threads := min(conns, 2)
	argv := pinned(h.loadCPUs, []string{h.wrkBin,
		"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns),
		"-d" + strconv.Itoa(int(d.Seconds())) + "s", "--timeout", "5s",
		"-s", h.wrkScript, url})
	var out bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				return r, fmt.Errorf("wrk summary: %w", err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no summary: %s", out.String())
}

// CaptureRow is one (target, connections) cell of the capture table.
type CaptureRow struct {
	Target      string  `json:"target"` // ceiling, ceiling-durable, embedded (ack=durable), embedded-fast (ack=fast), clickhouse
	Connections int     `json:"connections"`
	RPS         Summary `json:"rps"` // answered
	// PersistedRPS is requests stored / time from the start of the load
	// until the last of them was stored (the ceiling: its req/s).
	PersistedRPS Summary `json:"persisted_rps"`
	P50US        Summary `json:"p50_us"`
	P99US        Summary `json:"p99_us"`
	// CPUUSPerReq is the server's own CPU time (user+system, from
	// /proc/<pid>/stat) per answered request: unlike req/s it hardly depends
	// on what else the machine runs.
	CPUUSPerReq Summary `json:"server_cpu_us_per_req"`
	// StoreCPUUSPerReq is the clickhouse-server process's CPU per answered
	// request over the same span (only when the harness started it; its
	// background merges may spill into the next run).
	StoreCPUUSPerReq *Summary `json:"store_cpu_us_per_req,omitempty"`
	// RatioToCeiling is persisted req/s / the ceiling's req/s in the same
	// run (median over runs).
	RatioToCeiling *Summary `json:"ratio_to_ceiling,omitempty"`
	// RatioToDurable is persisted req/s / the durable ceiling's req/s in
	// the same run: the share of what a server that answers only for what
	// is on disk reaches here.
	RatioToDurable *Summary `json:"ratio_to_durable_ceiling,omitempty"`
	// Answered2xx and Persisted are summed over runs: every 2xx answer must
	// be in the store (Persisted may exceed Answered by requests in flight
	// when wrk stopped).
	Answered2xx int64 `json:"answered_2xx,omitempty"`
	Persisted   int64 `json:"persisted,omitempty"`
	Non2xx      int64 `json:"non2xx"`
	Errors      int64 `json:"socket_errors"`
}

type captureTarget struct {
	name string
	p    *proc
	bin  string // "" for the ceiling
	// storePID is the clickhouse-server behind the target when the harness
	// started it (0 otherwise): its CPU is part of what a request costs.
	storePID int
}

func (t captureTarget) url() string {
	if t.bin == "" {
		return "http://" + t.p.addr + "/h/ceiling/stripe/events"
	}
	return "http://" + t.p.addr + "/h/" + t.bin + "/stripe/events"
}

// runCapture measures capture against the ceiling and hookscope, run by run
// and connection count by connection count, back to back, so each run's
// ratio compares figures taken under the same machine noise.
func (h *harness) runCapture() ([]CaptureRow, error) {
	ceil, err := h.startCeiling("ceiling", "")
	if err != nil {
		return nil, err
	}
	defer ceil.stop()
	targets := []captureTarget{{name: "ceiling", p: ceil}}
	// The durable ceiling: bare Fiber that answers only once a capture log's
	// fdatasync covers the body. What any server that answers 2xx only for
	// what is on disk can reach on this machine, before doing any work.
	durable, err := h.startCeiling("ceiling-durable", h.tmpPath("capture-ceiling-durable"))
	if err != nil {
		return nil, err
	}
	defer durable.stop()
	targets = append(targets, captureTarget{name: "ceiling-durable", p: durable})

	hs, err := h.startHookscope("hookscope-embedded", h.tmpPath("capture-embedded"))
	if err != nil {
		return nil, err
	}
	defer hs.stop()
	bin, err := createBin(hs.addr)
	if err != nil {
		return nil, err
	}
	targets = append(targets, captureTarget{name: "embedded", p: hs, bin: bin})
	// The same store with HOOKSCOPE_ACK=fast: answered before the capture
	// log's fdatasync, so the pair shows what durability costs.
	fast, err := h.startHookscope("hookscope-embedded-fast", h.tmpPath("capture-embedded-fast"), "HOOKSCOPE_ACK=fast")
	if err != nil {
		return nil, err
	}
	defer fast.stop()
	fastBin, err := createBin(fast.addr)
	if err != nil {
		return nil, err
	}
	targets = append(targets, captureTarget{name: "embedded-fast", p: fast, bin: fastBin})

	if chURL := h.clickhouseURL; chURL != "" {
		ch, err := h.startHookscope("hookscope-clickhouse", h.tmpPath("capture-clickhouse"), "HOOKSCOPE_CLICKHOUSE_URL="+chURL)
		if err != nil {
			h.note("ClickHouse capture skipped: %v", err)
		} else {
			defer ch.stop()
			if bin, err := createBin(ch.addr); err != nil {
				h.note("ClickHouse capture skipped: %v", err)
			} else {
				t := captureTarget{name: "clickhouse", p: ch, bin: bin}
				if h.ch != nil {
					t.storePID = h.ch.PID()
				}
				targets = append(targets, t)
			}
		}
	}

	// Warm up every target (JIT-free Go, but page cache, pools, SQLite file).
	for _, t := range targets {
		if _, err := h.wrk(t.url(), 16, time.Duration(h.warmup.Seconds())*time.Second); err != nil {
			return nil, fmt.Errorf("warm up %s: %w", t.name, err)
		}
	}
	if err := h.settle(targets); err != nil {
		return nil, err
	}

	type key struct {
		target string
		conns  int
	}
	res := map[key][]wrkResult{}
	persisted := map[key]int64{}
	for run := 0; run < h.runs; run++ {
		for _, c := range h.conns {
			for _, t := range targets {
				before := int64(0)
				if t.bin != "" {
					before = waitPersisted(t.p.addr, t.bin, 1<<62)
				}
				cpu0, _ := cpuTime(t.p.pid())
				var store0 time.Duration
				if t.storePID != 0 {
					store0, _ = cpuTime(t.storePID)
				}
				t0 := time.Now()
				r, err := h.wrk(t.url(), c, h.captureDur)
				if err != nil {
					return nil, fmt.Errorf("%s c=%d: %w", t.name, c, err)
				}
				k := key{t.name, c}
				// Sustained throughput: what was stored, over the time from
				// the start of the load until the store had it all (the
				// batcher's queue can hold tens of thousands of requests, so
				// answered req/s alone flatters a short run).
				r.sustained = r.rps()
				if t.bin != "" {
					after := waitPersisted(t.p.addr, t.bin, before+r.Requests-r.Non2xx)
					persisted[k] += after - before
					r.sustained = float64(min(after-before, r.Requests-r.Non2xx)) / time.Since(t0).Seconds()
				}
				cpu1, _ := cpuTime(t.p.pid())
				r.cpuPerReq = us(cpu1-cpu0) / float64(max(r.Requests, 1))
				if t.storePID != 0 {
					store1, _ := cpuTime(t.storePID)
					r.storeCPUPerReq = us(store1-store0) / float64(max(r.Requests, 1))
				}
				res[k] = append(res[k], r)
				h.progress("capture run %d/%d c=%-2d %-10s %8.0f req/s (%6.0f persisted/s) p50 %6.0fµs p99 %7.0fµs, server CPU %5.1fµs/req",
					run+1, h.runs, c, t.name, r.rps(), r.sustained, r.LatP50US, r.LatP99US, r.cpuPerReq)
			}
		}
	}

	var rows []CaptureRow
	for _, t := range targets {
		for _, c := range h.conns {
			rs := res[key{t.name, c}]
			row := CaptureRow{Target: t.name, Connections: c}
			var rps, prps, p50, p99, ratio, durableRatio, cpu, storeCPU []float64
			for i, r := range rs {
				rps = append(rps, r.rps())
				prps = append(prps, r.sustained)
				cpu = append(cpu, r.cpuPerReq)
				if t.storePID != 0 {
					storeCPU = append(storeCPU, r.storeCPUPerReq)
				}
				p50 = append(p50, r.LatP50US)
				p99 = append(p99, r.LatP99US)
				row.Non2xx += r.Non2xx
				row.Errors += r.SocketErrors
				if t.name != "ceiling" {
					ratio = append(ratio, r.sustained/res[key{"ceiling", c}][i].rps())
				}
				if t.bin != "" {
					row.Answered2xx += r.Requests - r.Non2xx
					durableRatio = append(durableRatio, r.sustained/res[key{"ceiling-durable", c}][i].rps())
				}
			}
			row.RPS, row.P50US, row.P99US, row.CPUUSPerReq = summarize(rps), summarize(p50), summarize(p99), summarize(cpu)
			row.PersistedRPS = summarize(prps)
			if len(storeCPU) > 0 {
				s := summarize(storeCPU)
				row.StoreCPUUSPerReq = &s
			}
			if len(ratio) > 0 {
				s := summarize(ratio)
				row.RatioToCeiling = &s
			}
			if t.bin != "" {
				s := summarize(durableRatio)
				row.RatioToDurable = &s
				row.Persisted = persisted[key{t.name, c}]
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// settle waits until what the warm-up captured is stored.
func (h *harness) settle(targets []captureTarget) error {
	for _, t := range targets {
		if t.bin != "" {
			waitPersisted(t.p.addr, t.bin, 1<<62)
		}
	}
	return nil
}
