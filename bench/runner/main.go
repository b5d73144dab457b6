// Command runner is hookscope's benchmark harness (issue 8). `make bench`
// builds hookscope and the bare Fiber ceiling and runs this; it starts each
// server on a loopback port with a temp data dir, measures capture
// throughput and latency (wrk), the live feed's latency (websocket
// subscribers), query latency on a generated 1 M-row bin, and peak RSS under
// sustained load, then prints a table and writes JSON to bench/results/.
//
// Every figure is measured in several runs (-runs, default 3) and reported
// as the median with its spread (min..max). BENCH_QUICK=1 shortens
// everything for development.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

type harness struct {
	hookscopeBin, ceilingBin, wrkBin, wrkScript string
	tmp                                         string
	clickhouseURL                               string
	serverCPUs, loadCPUs                        string

	runs         int
	conns        []int
	warmup       time.Duration
	captureDur   time.Duration
	liveRates    []int
	liveSubs     []int
	liveDur      time.Duration
	queryRows    int
	chRows       []int
	chKind       chtest.Kind // which server startClickHouse launches
	ch           *chServer   // nil: no ClickHouse figures
	chFillBudget time.Duration
	chFill       []string
	querySamples int
	memoryDur    time.Duration

	out   io.Writer
	notes []string
	keep  bool
}

// Results is what bench/results/*.json holds.
type Results struct {
	Meta        Meta         `json:"meta"`
	Capture     []CaptureRow `json:"capture,omitempty"`
	Live        []LiveRow    `json:"live,omitempty"`
	Query       []QueryRow   `json:"query,omitempty"`
	FillRowsSec float64      `json:"query_fill_rows_per_sec,omitempty"`
	CHFill      []string     `json:"clickhouse_fill,omitempty"`
	Memory      *MemoryRow   `json:"memory,omitempty"`
	Notes       []string     `json:"notes,omitempty"`
}

type Meta struct {
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Quick      bool      `json:"quick"`
	Runs       int       `json:"runs"`
	NProc      int       `json:"nproc"`
	CPUModel   string    `json:"cpu_model"`
	GoVersion  string    `json:"go_version"`
	Kernel     string    `json:"kernel"`
	Commit     string    `json:"commit"`
	LoadBefore string    `json:"loadavg_before"`
	LoadAfter  string    `json:"loadavg_after"`
	Pinning    string    `json:"pinning"`
}

func main() {
	quick := os.Getenv("BENCH_QUICK") != ""
	h := &harness{out: os.Stdout}
	var only, outDir string
	flag.StringVar(&h.hookscopeBin, "hookscope", "bin/bench/hookscope", "hookscope binary")
	flag.StringVar(&h.ceilingBin, "ceiling", "bin/bench/ceiling", "bare Fiber ceiling binary")
	flag.StringVar(&h.wrkBin, "wrk", "wrk", "wrk binary")
	flag.StringVar(&h.wrkScript, "wrk-script", "bench/wrk/post.lua", "wrk Lua script")
	flag.StringVar(&outDir, "out", "bench/results", "directory for JSON results")
	flag.StringVar(&only, "only", os.Getenv("BENCH_ONLY"), "comma-separated sections to run (capture,live,query,memory); empty: all")
	flag.IntVar(&h.runs, "runs", envInt("BENCH_RUNS", 0), "runs per figure (default 3, quick 1)")
	flag.StringVar(&h.clickhouseURL, "clickhouse-url", os.Getenv("HOOKSCOPE_BENCH_CLICKHOUSE_URL"), "ClickHouse server to benchmark (HOOKSCOPE_BENCH_CLICKHOUSE_URL); empty: start a local clickhouse-server when installed")
	chKind := flag.String("clickhouse-kind", envOr("BENCH_CLICKHOUSE_KIND", string(chtest.Legacy)), "ClickHouse server to start when no URL is given: 18.16 (Debian's clickhouse-server) or 26.7 (scripts/install-clickhouse-modern.sh) (BENCH_CLICKHOUSE_KIND)")
	noCH := flag.Bool("no-clickhouse", os.Getenv("BENCH_CLICKHOUSE") == "0", "skip every ClickHouse figure (BENCH_CLICKHOUSE=0)")
	keep := flag.Bool("keep", false, "keep the temporary directory (data dirs, server logs) and print its path")
	pin := flag.Bool("pin", os.Getenv("BENCH_PIN") != "", "pin servers to CPU 0 and the load generator to CPU 1 (BENCH_PIN=1)")
	flag.Parse()

	h.conns = []int{1, 16, 64}
	h.liveRates, h.liveSubs = []int{100, 2000}, []int{1, 50}
	h.warmup, h.captureDur, h.liveDur, h.memoryDur = 2*time.Second, 5*time.Second, 5*time.Second, 60*time.Second
	h.queryRows, h.querySamples = 1_000_000, 10
	h.chRows = []int{1_000_000, 10_000_000}
	h.chFillBudget = 150 * time.Second
	if h.runs <= 0 {
		h.runs = 3
		if quick {
			h.runs = 1
		}
	}
	if quick {
		h.warmup, h.captureDur, h.liveDur, h.memoryDur = time.Second, 2*time.Second, 2*time.Second, 10*time.Second
		h.queryRows, h.querySamples = 100_000, 5
		h.chRows = []int{100_000}
	}
	if v := os.Getenv("BENCH_CH_ROWS"); v != "" { // e.g. 10000000: only that ClickHouse size
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			fmt.Fprintf(os.Stderr, "bench: BENCH_CH_ROWS=%q: want a row count >= 1000\n", v)
			os.Exit(2)
		}
		h.chRows = []int{n}
	}
	if *pin && runtime.NumCPU() >= 2 {
		h.serverCPUs, h.loadCPUs = "0", "1"
	}
	if *noCH {
		h.clickhouseURL = "-"
	}
	h.keep = *keep
	h.chKind = chtest.Kind(*chKind)
	if h.chKind != chtest.Legacy && h.chKind != chtest.Modern {
		fmt.Fprintf(os.Stderr, "bench: -clickhouse-kind %q: want %s or %s\n", *chKind, chtest.Legacy, chtest.Modern)
		os.Exit(2)
	}
	if err := run(h, quick, only, outDir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(h *harness, quick bool, only, outDir string) error {
	tmp, err := os.MkdirTemp("", "hookscope-bench-")
	if err != nil {
		return err
	}
	h.tmp = tmp
	if h.keep {
		defer h.progress("kept %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	want := func(s string) bool {
		return only == "" || strings.Contains(","+only+",", ","+s+",")
	}
	res := Results{Meta: machine(quick, h)}
	h.progress("hookscope bench: %d run(s) per figure, quick=%v, %s, load %s", h.runs, quick, res.Meta.Pinning, res.Meta.LoadBefore)
	switch {
	case h.clickhouseURL == "-":
		h.clickhouseURL = ""
		h.note("ClickHouse figures skipped (BENCH_CLICKHOUSE=0)")
	case !want("capture") && !want("query"):
	case h.clickhouseURL != "":
		if h.ch, err = externalClickHouse(h.clickhouseURL); err != nil {
			return err
		}
	default:
		h.progress("starting a local ClickHouse %s ...", h.chKind)
		if h.ch, err = h.startClickHouse(); err != nil {
			h.note("ClickHouse figures skipped: %v", err)
			h.ch = nil
		} else {
			defer h.ch.stop()
		}
	}
	if h.ch != nil {
		h.clickhouseURL = h.ch.url("hookscope_bench_capture")
	}
	if want("capture") {
		if res.Capture, err = h.runCapture(); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	}
	if want("live") {
		if res.Live, err = h.runLive(); err != nil {
			return fmt.Errorf("live: %w", err)
		}
	}
	if want("query") {
		if os.Getenv("BENCH_QUERY_EMBEDDED") == "0" { // ClickHouse query figures only
			h.note("embedded query figures skipped (BENCH_QUERY_EMBEDDED=0)")
		} else if res.Query, res.FillRowsSec, err = h.runQuery(); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		if h.ch != nil {
			rows, err := h.runQueryClickHouse(h.ch)
			if err != nil {
				h.note("ClickHouse query latency failed: %v", err)
			}
			res.Query = append(res.Query, rows...)
		}
	}
	if want("memory") {
		m, err := h.runMemory()
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		res.Memory = &m
	}
	res.Meta.Finished = time.Now().UTC()
	res.Meta.LoadAfter = loadavg()
	res.Notes = h.notes
	res.CHFill = h.chFill
	printTables(h.out, &res)

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(outDir, res.Meta.Started.Format("20060102T150405Z")+".json")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "latest.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(h.out, "\nresults: %s (and latest.json), took %s\n", name, res.Meta.Finished.Sub(res.Meta.Started).Round(time.Second))
	return nil
}

func (h *harness) tmpPath(name string) string { return filepath.Join(h.tmp, name) }

func (h *harness) progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func (h *harness) note(format string, a ...any) {
	n := fmt.Sprintf(format, a...)
	h.notes = append(h.notes, n)
	h.progress("note: %s", n)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func machine(quick bool, h *harness) Meta {
	m := Meta{Started: time.Now().UTC(), Quick: quick, Runs: h.runs, NProc: runtime.NumCPU(), LoadBefore: loadavg(), Pinning: "none"}
	if h.serverCPUs != "" {
		m.Pinning = "servers on CPU " + h.serverCPUs + ", load generator on CPU " + h.loadCPUs
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	m.GoVersion = cmdOut("go", "version")
	m.Kernel = cmdOut("uname", "-sr")
	m.Commit = cmdOut("git", "describe", "--always", "--dirty")
	return m
}

func cmdOut(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// countResults is the number of requests in a page, or a stats total.
func countResults(b []byte) int {
	var v struct {
		Requests []json.RawMessage `json:"requests"`
		Total    *int              `json:"total"`
	}
	if json.Unmarshal(b, &v) != nil {
		return -1
	}
	if v.Total != nil {
		return *v.Total
	}
	return len(v.Requests)
}

// fm formats a summary as "median (min–max)".
func fm(s Summary, prec int) string {
	if math.IsNaN(s.Median) {
		return "-"
	}
	if len(s.Runs) <= 1 {
		return strconv.FormatFloat(s.Median, 'f', prec, 64)
	}
	return fmt.Sprintf("%s (%s–%s)", strconv.FormatFloat(s.Median, 'f', prec, 64),
		strconv.FormatFloat(s.Min, 'f', prec, 64), strconv.FormatFloat(s.Max, 'f', prec, 64))
}

func printTables(w io.Writer, r *Results) {
	var b bytes.Buffer
	m := r.Meta
	fmt.Fprintf(&b, "\nhookscope bench — %s, %d× %s, %s, %s\n", m.Started.Format(time.RFC3339), m.NProc, m.CPUModel, m.GoVersion, m.Kernel)
	fmt.Fprintf(&b, "runs per figure: %d (median (min–max)); quick=%v; pinning: %s; load avg before %s, after %s\n", m.Runs, m.Quick, m.Pinning, m.LoadBefore, m.LoadAfter)
	if len(r.Capture) > 0 {
		fmt.Fprintf(&b, "\n## Capture: 1 KB JSON POST, 10 Stripe-like headers (wrk)\n\n")
		fmt.Fprintf(&b, "| target | conns | answered req/s | persisted req/s | × ceiling | × durable ceiling | p50 µs | p99 µs | server CPU µs/req | clickhouse-server CPU µs/req | 2xx answered | persisted |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range r.Capture {
			ratio, dratio, ans, per, store := "1", "-", "-", "-", "-"
			if c.RatioToCeiling != nil {
				ratio = fm(*c.RatioToCeiling, 2)
			}
			if c.RatioToDurable != nil {
				dratio = fm(*c.RatioToDurable, 2)
				ans, per = strconv.FormatInt(c.Answered2xx, 10), strconv.FormatInt(c.Persisted, 10)
			}
			if c.StoreCPUUSPerReq != nil {
				store = fm(*c.StoreCPUUSPerReq, 1)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Target, c.Connections, fm(c.RPS, 0), fm(c.PersistedRPS, 0), ratio, dratio, fm(c.P50US, 0), fm(c.P99US, 0), fm(c.CPUUSPerReq, 1), store, ans, per)
		}
	}
	if len(r.Live) > 0 {
		fmt.Fprintf(&b, "\n## Live feed: POST → websocket message\n\n")
		fmt.Fprintf(&b, "| rate req/s | subscribers | achieved req/s | p50 µs | p99 µs | delivered | lagged |\n|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Live {
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %.4f | %d |\n", l.Rate, l.Subscribers, fm(l.AchievedRPS, 0), fm(l.P50US, 0), fm(l.P99US, 0), l.Delivered, l.Lagged)
		}
	}
	if len(r.Query) > 0 {
		fmt.Fprintf(&b, "\n## Query latency through the API (one bin; embedded store filled at %.0f rows/s", r.FillRowsSec)
		if len(r.CHFill) > 0 {
			fmt.Fprintf(&b, "; ClickHouse INSERT ... SELECT: %s", strings.Join(r.CHFill, ", "))
		}
		fmt.Fprintf(&b, ")\n\n")
		fmt.Fprintf(&b, "| store | rows | query | p50 ms | max ms | results |\n|---|---:|---|---:|---:|---:|\n")
		for _, q := range r.Query {
			fmt.Fprintf(&b, "| %s | %d | %s `%s` | %s | %s | %d |\n", q.Store, q.Rows, q.Query, q.Path, fm(q.P50MS, 1), fm(q.MaxMS, 1), q.Results)
		}
	}
	if mm := r.Memory; mm != nil {
		fmt.Fprintf(&b, "\n## Memory: %d s of capture at %d connections\n\n", mm.Seconds, mm.Connections)
		fmt.Fprintf(&b, "| target | req/s | peak RSS MB (VmHWM) | RSS first 10%% MB | RSS last 10%% MB | 2xx answered | persisted |\n|---|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %d |\n", mm.Target, fm(mm.RPS, 0), fm(mm.PeakRSSMB, 0), fm(mm.EarlyRSSMB, 0), fm(mm.LateRSSMB, 0), mm.Answered2xx, mm.Persisted)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nnote: %s", n)
	}
	b.WriteString("\n")
	_, _ = w.Write(b.Bytes())
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
