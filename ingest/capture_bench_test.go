package ingest

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog/disklog"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

type countingObserver struct{ n atomic.Int64 }

func (o *countingObserver) Observe(*schema.Request) { o.n.Add(1) }

type countingPublisher struct{ n atomic.Int64 }

func (p *countingPublisher) PublishRecord(string, []byte) { p.n.Add(1) }

// BenchmarkCaptureToSQLite is the server without HTTP: 16 concurrent
// senders per CPU call Pipeline.Capture with the Stripe-like delivery
// (event extraction, id, answer, capture log append with group commit,
// the log opened as cmd/hookscope opens it), while the three consumers run
// as in the app: the store writer into a real embedded store on disk, an
// alerts observer and a live publisher (both counting). Each op is one
// capture, persisted: the benchmark ends once the store holds every one.
// cpu-µs/op is the process's CPU per persisted capture, kernel included
// (fdatasync, pwrite): the figure that varies least on a shared machine,
// and what bench/cpuprofile.sh measures end to end with HTTP added. The
// store's synchronous setting is the app's for each ack mode (FULL under
// ack=durable); "ack=durable,sync=NORMAL" shows what FULL costs.
//
//	go test -run '^$' -bench CaptureToSQLite -benchtime 20000x ./ingest/
func BenchmarkCaptureToSQLite(b *testing.B) {
	for _, mode := range []struct {
		name string
		ack  disklog.AckMode
		sync string
	}{
		{"ack=durable", disklog.AckDurable, "FULL"},
		{"ack=durable,sync=NORMAL", disklog.AckDurable, "NORMAL"},
		{"ack=fast", disklog.AckFast, "NORMAL"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookscope.db"), sqlite.Options{Synchronous: mode.sync})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			l, err := disklog.Open(b.TempDir(), disklog.Options{Ack: mode.ack, Preallocate: mode.ack == disklog.AckDurable})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			m := NewMetrics()
			var obs countingObserver
			var pub countingPublisher
			c, err := StartConsumers(ctx, l, st, &obs, &pub, ConsumerOptions{Metrics: m})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(ctx)
			p := NewPipeline(benchBins{}, l, Options{Metrics: m})
			in := benchDelivery()
			b.ReportAllocs()
			b.SetParallelism(16)
			cpu0 := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cp := *in
					if resp, err := p.Capture(ctx, "bench", &cp); err != nil || resp.Status != 200 {
						b.Errorf("capture: %d %v", resp.Status, err)
						return
					}
				}
			})
			for deadline := time.Now().Add(time.Minute); m.written.Load() < int64(b.N); {
				if time.Now().After(deadline) {
					b.Fatalf("store writer: %d of %d written", m.written.Load(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
