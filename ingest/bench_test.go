package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

// benchDelivery is a Stripe-like delivery as the web layer hands it over: a
// ~1 KB JSON body and ten headers.
func benchDelivery() *Incoming {
	body := []byte(`{"id":"evt_1Pq2Rs3Tu4Vw5Xy6Za7Bc8De","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3Pq2Rs3Tu4Vw5Xy61AbCdEfG","amount":2000,"currency":"usd","pad":"` +
		strings.Repeat("x", 850) + `"}}}`)
	return &Incoming{
		Method: "POST", Path: "/stripe/events", RemoteIP: "203.0.113.7",
		ContentType: "application/json; charset=utf-8", Body: body, BodySize: int64(len(body)),
		Headers: []schema.Header{
			{Name: "Host", Value: "127.0.0.1:8080"}, {Name: "Content-Type", Value: "application/json; charset=utf-8"},
			{Name: "User-Agent", Value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
			{Name: "Accept", Value: "*/*; q=0.5, application/xml"}, {Name: "Cache-Control", Value: "no-cache"},
			{Name: "Stripe-Signature", Value: "t=1719400000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			{Name: "X-Request-Id", Value: "8f14e45f-ceea-467e-a9b2-c4a5d6e7f801"}, {Name: "Accept-Encoding", Value: "gzip"},
			{Name: "X-Forwarded-Proto", Value: "https"}, {Name: "Content-Length", Value: "1010"},
		},
	}
}

type benchBins struct{}

func (benchBins) GetBin(_ context.Context, id string) (*schema.Bin, error) {
	return &schema.Bin{ID: id, Name: "bench"}, nil
}

type discardWriter struct{}

func (discardWriter) WriteRequests(context.Context, []*schema.Request) error { return nil }

// newBenchLog opens a capture log in a temp dir (fast: answer before the
// fsync) with the store writer draining it into w.
func newBenchLog(b *testing.B, w Writer, fast bool) caplog.Log {
	b.Helper()
	l := openBenchLog(b, b.TempDir(), fast)
	c, err := StartConsumers(context.Background(), l, w, nil, nil, ConsumerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	return l
}

// BenchmarkPipelineCapture measures Pipeline.Capture for one delivery to a
// bin without signature scheme: id, verdict, answer, append to the capture
// log (ack=durable: one fdatasync per capture, since one goroutine never
// shares a group commit; ack=fast: written to the OS), with the store
// writer discarding. Run it with -cpu and b.RunParallel-style load in the
// bench harness for group commit; this is the single-sender cost.
func BenchmarkPipelineCapture(b *testing.B) {
	for _, mode := range []struct {
		name string
		fast bool
	}{{"ack=durable", false}, {"ack=fast", true}} {
		b.Run(mode.name, func(b *testing.B) {
			p := NewPipeline(benchBins{}, newBenchLog(b, discardWriter{}, mode.fast), Options{})
			in := benchDelivery()
			b.ReportAllocs()
			for b.Loop() {
				cp := *in
				if resp, err := p.Capture(context.Background(), "bench", &cp); err != nil || resp.Status != 200 {
					b.Fatalf("capture: %d %v", resp.Status, err)
				}
			}
		})
	}
}

// BenchmarkPipelineCaptureParallel is BenchmarkPipelineCapture with 16
// concurrent senders per CPU: appends waiting at once share one fdatasync
// (group commit), which is what HTTP load looks like.
func BenchmarkPipelineCaptureParallel(b *testing.B) {
	for _, mode := range []struct {
		name string
		fast bool
	}{{"ack=durable", false}, {"ack=fast", true}} {
		b.Run(mode.name, func(b *testing.B) {
			p := NewPipeline(benchBins{}, newBenchLog(b, discardWriter{}, mode.fast), Options{})
			in := benchDelivery()
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cp := *in
					if resp, err := p.Capture(context.Background(), "bench", &cp); err != nil || resp.Status != 200 {
						b.Errorf("capture: %d %v", resp.Status, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkWriterSQLite measures the store writer alone: each iteration
// appends 1000 captured deliveries to the log in one call and waits until
// the writer has decoded them, written them to a real embedded store (WAL,
// synchronous=NORMAL) on disk and committed its position. ns/request is the
// sustained cost of persisting one 1 KB delivery from the log.
func BenchmarkWriterSQLite(b *testing.B) {
	const perOp = 1000
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookscope.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	l := openBenchLog(b, b.TempDir(), true)
	m := NewMetrics()
	c, err := StartConsumers(ctx, l, st, nil, nil, ConsumerOptions{Metrics: m, FlushInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	p := NewPipeline(benchBins{}, l, Options{Metrics: m})
	in := benchDelivery()
	entries := make([]caplog.Entry, perOp)
	b.SetBytes(in.BodySize * perOp)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range entries {
			id, at := p.newID()
			r := &schema.Request{ID: id, BinID: "bench", ReceivedAt: at, Method: in.Method, Path: in.Path, Headers: in.Headers,
				RemoteIP: in.RemoteIP, ContentType: in.ContentType, Body: in.Body, BodySize: in.BodySize, ResponseStatus: 200}
			if entries[i], err = caplog.RequestEntry(nil, r); err != nil {
				b.Fatal(err)
			}
		}
		want := m.written.Load() + perOp
		b.StartTimer()
		if err := l.Append(ctx, entries...); err != nil {
			b.Fatal(err)
		}
		for m.written.Load() < want {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perOp), "ns/request")
	if n, err := st.CountRequests(ctx, "bench"); err != nil || n != int64(b.N*perOp) {
		b.Fatalf("stored %d requests (%v), want %d", n, err, b.N*perOp)
	}
}
