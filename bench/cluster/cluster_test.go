// Package cluster is the cluster-mode benchmark of issue 15 (make
// bench-cluster): two hookscope processes on a 3-node JetStream cluster
// (in this process, github.com/nats-io/nats-server/v2) and a throw-away
// ClickHouse, against one hookscope process in single-node mode on the same
// ClickHouse. It measures
//
//   - cross-instance live feed latency: an open-loop sender POSTs to
//     instance A at a fixed rate, a websocket subscriber on instance B
//     records receive time − send time (the body carries the send time);
//   - capture throughput of one instance: 64 closed-loop connections for a
//     few seconds against A in cluster mode and against the single-node
//     instance; answered req/s and persisted req/s (until the last answered
//     request is in ClickHouse).
//
// It is a test only so that it can use natstest and chtest; it is skipped
// unless BENCH_CLUSTER=1. Figures go to the test log and, with
// BENCH_CLUSTER_OUT=<file>, to a JSON file.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Results is what the benchmark reports.
type Results struct {
	Started     time.Time    `json:"started"`
	LiveRate    int          `json:"live_rate_rps"`
	Live        []LiveRun    `json:"live"`
	Throughput  []Throughput `json:"throughput"`
	Connections int          `json:"connections"`
	Seconds     int          `json:"seconds"`
}

// LiveRun is one run of the cross-instance live feed.
type LiveRun struct {
	Sent      int     `json:"sent_2xx"`
	Received  int     `json:"received"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	Achieved  float64 `json:"achieved_rps"`
	Non2xx    int64   `json:"non_2xx"`
	Delivered float64 `json:"delivered"`
}

// Throughput is one closed-loop run against one target.
type Throughput struct {
	Target       string  `json:"target"`
	Answered     int64   `json:"answered_2xx"`
	Non2xx       int64   `json:"non_2xx"`
	AnsweredRPS  float64 `json:"answered_rps"`
	PersistedRPS float64 `json:"persisted_rps"`
}

func TestClusterBench(t *testing.T) {
	if os.Getenv("BENCH_CLUSTER") == "" {
		t.Skip("cluster benchmark: BENCH_CLUSTER=1 (make bench-cluster)")
	}
	res := Results{Started: time.Now().UTC(), LiveRate: envInt("BENCH_CLUSTER_RATE", 2000),
		Connections: envInt("BENCH_CLUSTER_CONNS", 64), Seconds: envInt("BENCH_CLUSTER_SECONDS", 5)}
	runs := envInt("BENCH_CLUSTER_RUNS", 3)
	dir := t.TempDir()
	bin := filepath.Join(dir, "hookscope")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/hookscope")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build hookscope: %v", err)
	}
	ns := natstest.Start(t, 3)
	ch := chtest.Start(t)
	common := map[string]string{
		"HOOKSCOPE_RATE_PER_IP": "0", "HOOKSCOPE_QUOTAS": "open", "HOOKSCOPE_LOG_LEVEL": "warn",
		"HOOKSCOPE_JWT_SECRET": strings.Repeat("b", 64),
	}
	clusterDSN := ch.Database(t)
	cluster := map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": clusterDSN, "HOOKSCOPE_NATS_URL": ns.URLs(), "HOOKSCOPE_NATS_REPLICAS": "3"}
	a := startProc(t, bin, filepath.Join(dir, "a"), common, cluster)
	b := startProc(t, bin, filepath.Join(dir, "b"), common, cluster)
	single := startProc(t, bin, filepath.Join(dir, "single"), common, map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": ch.Database(t)})
	// The same instance on one NATS node, stream on 1 replica: what the
	// replication costs on two shared cores.
	ns1 := natstest.Start(t, 1)
	r1 := startProc(t, bin, filepath.Join(dir, "r1"), common, map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": ch.Database(t), "HOOKSCOPE_NATS_URL": ns1.URLs()})

	for run := range runs {
		lr := liveRun(t, a, b, res.LiveRate, time.Duration(res.Seconds)*time.Second)
		t.Logf("live run %d: A→B at %d req/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms, delivered %.4f (%d/%d), achieved %.0f req/s, non-2xx %d",
			run+1, res.LiveRate, lr.P50MS, lr.P99MS, lr.MaxMS, lr.Delivered, lr.Received, lr.Sent, lr.Achieved, lr.Non2xx)
		res.Live = append(res.Live, lr)
	}
	for run := range runs {
		// Back to back, so each pair compares figures under the same noise.
		for _, tg := range []struct {
			name string
			base string
		}{{"single-node (disk log, ClickHouse)", single}, {"cluster instance A (JetStream R3, ClickHouse)", a}, {"cluster, 1 NATS node (JetStream R1, ClickHouse)", r1}} {
			tp := throughput(t, tg.base, res.Connections, time.Duration(res.Seconds)*time.Second)
			tp.Target = tg.name
			t.Logf("throughput run %d, %s: %.0f answered/s, %.0f persisted/s (%d 2xx, %d other)", run+1, tg.name, tp.AnsweredRPS, tp.PersistedRPS, tp.Answered, tp.Non2xx)
			res.Throughput = append(res.Throughput, tp)
		}
	}
	summarize(t, res)
	if out := os.Getenv("BENCH_CLUSTER_OUT"); out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func summarize(t *testing.T, res Results) {
	var p99, p50 []float64
	for _, l := range res.Live {
		p99 = append(p99, l.P99MS)
		p50 = append(p50, l.P50MS)
	}
	t.Logf("SUMMARY live A→B at %d req/s: p50 median %.1f ms, p99 median %.1f ms (min %.1f, max %.1f) over %d runs; target p99 < 250 ms",
		res.LiveRate, median(p50), median(p99), slices.Min(p99), slices.Max(p99), len(p99))
	by := map[string][]float64{}
	byAns := map[string][]float64{}
	var ratios []float64
	for i := 0; i+2 < len(res.Throughput); i += 3 {
		s, c := res.Throughput[i], res.Throughput[i+1]
		for _, x := range res.Throughput[i : i+3] {
			by[x.Target] = append(by[x.Target], x.PersistedRPS)
			byAns[x.Target] = append(byAns[x.Target], x.AnsweredRPS)
		}
		if s.PersistedRPS > 0 {
			ratios = append(ratios, c.PersistedRPS/s.PersistedRPS)
		}
	}
	for name, v := range by {
		t.Logf("SUMMARY %s: persisted %.0f req/s median (%.0f–%.0f), answered %.0f req/s median", name, median(v), slices.Min(v), slices.Max(v), median(byAns[name]))
	}
	if len(ratios) > 0 {
		t.Logf("SUMMARY cluster (R3)/single persisted ratio: median %.2f (%.2f–%.2f); target ≥ 0.5", median(ratios), slices.Min(ratios), slices.Max(ratios))
	}
}

// startProc starts hookscope with the merged environments on a free port
// and waits until it serves; it returns its base URL.
func startProc(t *testing.T, bin, dataDir string, envs ...map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HOOKSCOPE_ADDR="+addr, "HOOKSCOPE_DATA_DIR="+dataDir)
	for _, e := range envs {
		for k, v := range e {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookscope on %s did not serve: %s", addr, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newBin(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/bins", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create bin: %d %v", resp.StatusCode, err)
	}
	return b.ID
}

func requestCount(base, bin string) (int64, error) {
	resp, err := http.Get(base + "/api/v1/bins/" + bin)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var b struct {
		Count int64 `json:"request_count"`
	}
	err = json.NewDecoder(resp.Body).Decode(&b)
	return b.Count, err
}

// body is a 1 KB JSON body that starts with the send time.
func body(sentNS int64) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, `{"sent_ns":`...)
	b = strconv.AppendInt(b, sentNS, 10)
	b = append(b, `,"type":"payment_intent.succeeded","data":{"object":{"id":"pi_3Pq2Rs3Tu4Vw5Xy61AbCdEfG","amount":2000,"pad":"`...)
	for len(b) < 1021 {
		b = append(b, 'x')
	}
	return append(b, `"}}}`...)
}

var sentMarker = []byte(`sent_ns\":`)

// liveRun sends rate req/s to A for d and measures arrival on B's feed.
func liveRun(t *testing.T, a, b string, rate int, d time.Duration) LiveRun {
	t.Helper()
	binID := newBin(t, a)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b, "http")+"/api/v1/bins/"+binID+"/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var (
		mu   sync.Mutex
		lats []float64
	)
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now().UnixNano()
			i := bytes.Index(msg, sentMarker)
			if i < 0 {
				continue
			}
			rest := msg[i+len(sentMarker):]
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			sent, err := strconv.ParseInt(string(rest[:j]), 10, 64)
			if err != nil {
				continue
			}
			mu.Lock()
			lats = append(lats, float64(now-sent)/1e6)
			mu.Unlock()
		}
	}()
	time.Sleep(100 * time.Millisecond) // the subscription registers on upgrade

	client := &fasthttp.Client{MaxConnsPerHost: 256, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	total := int(float64(rate) * d.Seconds())
	var next, ok, bad atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	url := a + "/h/" + binID + "/live-bench"
	for range 64 {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
				if w := time.Until(due); w > 0 {
					time.Sleep(w)
				}
				req.Reset()
				req.SetRequestURI(url)
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				req.SetBody(body(time.Now().UnixNano()))
				if err := client.Do(req, resp); err != nil || resp.StatusCode()/100 != 2 {
					bad.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Wait for the stragglers (bounded), then stop reading.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(lats)
		mu.Unlock()
		if int64(n) >= ok.Load() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ws.Close()
	<-recvDone
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(p*float64(len(lats))))]
	}
	lr := LiveRun{Sent: int(ok.Load()), Received: len(lats), P50MS: pct(0.50), P99MS: pct(0.99), Achieved: float64(ok.Load()) / elapsed.Seconds(), Non2xx: bad.Load()}
	if len(lats) > 0 {
		lr.MaxMS = lats[len(lats)-1]
	}
	if lr.Sent > 0 {
		lr.Delivered = float64(lr.Received) / float64(lr.Sent)
	}
	return lr
}

// throughput runs conns closed-loop senders for d against base, then waits
// until every answered request is stored.
func throughput(t *testing.T, base string, conns int, d time.Duration) Throughput {
	t.Helper()
	binID := newBin(t, base)
	client := &fasthttp.Client{MaxConnsPerHost: conns, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok, bad atomic.Int64
	payload := body(0)
	url := base + "/h/" + binID + "/stripe/events"
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil {
				req.Reset()
				req.SetRequestURI(url)
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				req.Header.Set("Stripe-Signature", "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
				req.SetBody(payload)
				if err := client.Do(req, resp); err != nil || resp.StatusCode()/100 != 2 {
					bad.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	answeredIn := time.Since(start)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := requestCount(base, binID)
		if err == nil && n >= ok.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d answered requests stored after 2 minutes (%v)", base, n, ok.Load(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	persistedIn := time.Since(start)
	return Throughput{Answered: ok.Load(), Non2xx: bad.Load(), AnsweredRPS: float64(ok.Load()) / answeredIn.Seconds(),
		PersistedRPS: float64(ok.Load()) / persistedIn.Seconds()}
}
