package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// benchBody is a 1 KB JSON body shaped like a provider event.
var benchBody = func() []byte {
	var b strings.Builder
	b.WriteString(`{"id":"evt_1NqFj2LkdIwHu7ix","object":"event","type":"payment_intent.succeeded","data":{"object":{`)
	for i := 0; b.Len() < 1000; i++ {
		fmt.Fprintf(&b, `"field_%02d":"value %d of the payload",`, i, i)
	}
	b.WriteString(`"end":true}}}`)
	return []byte(b.String())
}()

// benchHeaders are ten headers a webhook delivery typically carries.
var benchHeaders = []schema.Header{
	{Name: "Host", Value: "hooks.example.com"},
	{Name: "User-Agent", Value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
	{Name: "Content-Type", Value: "application/json; charset=utf-8"},
	{Name: "Content-Length", Value: "1024"},
	{Name: "Accept", Value: "*/*; q=0.5, application/xml"},
	{Name: "Accept-Encoding", Value: "gzip"},
	{Name: "Cache-Control", Value: "no-cache"},
	{Name: "Stripe-Signature", Value: "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
	{Name: "X-Request-Id", Value: "5e3c2a1b-8f7d-4e6a-9b0c-1d2e3f4a5b6c"},
	{Name: "Traceparent", Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
}

func benchRequests(binID string, start time.Time, n int) []*schema.Request {
	return benchRequestsEvery(binID, start, n, 25*time.Microsecond)
}

func benchRequestsEvery(binID string, start time.Time, n int, every time.Duration) []*schema.Request {
	reqs := make([]*schema.Request, n)
	for i := range reqs {
		id, _ := uuid.NewV7()
		reqs[i] = &schema.Request{
			ID: id, BinID: binID, ReceivedAt: start.Add(time.Duration(i) * every),
			Method: "POST", Path: "/stripe/events", Query: "x=1", Headers: benchHeaders,
			RemoteIP: fmt.Sprintf("203.0.113.%d", i%50), ContentType: "application/json; charset=utf-8",
			BodySize: int64(len(benchBody)), Body: benchBody, ResponseStatus: []int{200, 200, 200, 404, 500}[i%5],
			LatencyUS: int64(50 + i%400), Signature: schema.Signature{Scheme: "stripe", Status: schema.SigValid},
		}
	}
	return reqs
}

// BenchmarkWriteRequests: one op is one batch of 1000 requests (1 KB JSON
// body, 10 headers) written with WriteRequests; req/s is the figure to watch.
func BenchmarkWriteRequests(b *testing.B) {
	for _, sync := range []string{"NORMAL", "FULL"} {
		b.Run("sync="+sync, func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch = 1000
			start := time.Now().Add(-time.Hour)
			batches := make([][]*schema.Request, 8)
			for i := range batches {
				batches[i] = benchRequests("bench", start, batch)
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				reqs := batches[i%len(batches)]
				for _, r := range reqs { // fresh ids: every op inserts 1000 new rows
					r.ID, _ = uuid.NewV7()
				}
				if err := s.WriteRequests(context.Background(), reqs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "req/s")
			// CPU time is steadier than wall time on a shared machine: it
			// says how much of a core each stored request costs.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*batch), "cpu-ns/req")
		})
	}
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The 1M-row database is built once per benchmark process, only when a
// benchmark that needs it runs, in a temporary directory removed at exit.
var (
	bigOnce  sync.Once
	bigStore *Store
	bigErr   error
	bigDir   string
)

const (
	bigRows = 1_000_000
	bigBin  = "big"
)

func bigDB(b *testing.B) *Store {
	b.Helper()
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "hookscope-bench-")
		if bigErr != nil {
			return
		}
		began := time.Now()
		bigStore, bigErr = Open(context.Background(), filepath.Join(bigDir, "big.db"), Options{})
		if bigErr != nil {
			return
		}
		// One day of traffic, 90% in the benchmarked bin, the rest spread
		// over 9 other bins.
		const spacing = 24 * time.Hour / bigRows
		start := time.Now().Add(-24 * time.Hour)
		for i := 0; i < bigRows; i += 1000 {
			bin := bigBin
			if (i/1000)%10 == 9 {
				bin = fmt.Sprintf("other%d", (i/1000)%9)
			}
			reqs := benchRequestsEvery(bin, start.Add(time.Duration(i)*spacing), 1000, spacing)
			if bigErr = bigStore.WriteRequests(context.Background(), reqs); bigErr != nil {
				return
			}
		}
		fmt.Fprintf(os.Stderr, "built %d rows in %v\n", bigRows, time.Since(began).Round(time.Millisecond))
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigStore
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigStore != nil {
		bigStore.Close()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// BenchmarkListNewest50 pages a bin of 900k requests (1M in the table).
func BenchmarkListNewest50(b *testing.B) {
	s := bigDB(b)
	ctx := context.Background()
	first, err := s.ListRequests(ctx, schema.Filter{BinID: bigBin})
	if err != nil || len(first.Requests) != 50 {
		b.Fatalf("first page: %d, %v", len(first.Requests), err)
	}
	deep, err := s.ListRequests(ctx, schema.Filter{BinID: bigBin, Before: &schema.Cursor{ReceivedAt: time.Now().Add(-20 * time.Hour)}})
	if err != nil || len(deep.Requests) != 50 {
		b.Fatalf("deep page: %d, %v", len(deep.Requests), err)
	}
	cases := []struct {
		name string
		f    schema.Filter
	}{
		{"first", schema.Filter{BinID: bigBin}},
		{"next", schema.Filter{BinID: bigBin, Before: first.Next}},
		{"deep", schema.Filter{BinID: bigBin, Before: deep.Next}},
		{"status5xx", schema.Filter{BinID: bigBin, StatusMin: 500, StatusMax: 599}},
		{"q", schema.Filter{BinID: bigBin, Q: "field_07"}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c0 := cpuTime()
			for b.Loop() {
				p, err := s.ListRequests(ctx, tc.f)
				if err != nil || len(p.Requests) != 50 {
					b.Fatalf("%d, %v", len(p.Requests), err)
				}
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e3/float64(b.N), "cpu-us/op")
		})
	}
}

// BenchmarkStats1M aggregates the last hour (~37k requests) and the whole
// day (900k requests) of the big bin.
func BenchmarkStats1M(b *testing.B) {
	s := bigDB(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		since time.Duration
	}{{"lastHour", time.Hour}, {"all", 48 * time.Hour}} {
		b.Run(tc.name, func(b *testing.B) {
			c0 := cpuTime()
			for b.Loop() {
				st, err := s.Stats(ctx, schema.StatsQuery{BinID: bigBin, Since: time.Now().Add(-tc.since), Step: time.Minute})
				if err != nil || st.Total == 0 {
					b.Fatalf("%+v, %v", st, err)
				}
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}
