package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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

func newBenchBatcher(b *testing.B, w Writer) *Batcher {
	b.Helper()
	sp, err := OpenSpool(filepath.Join(b.TempDir(), "spool"), SpoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	bat, err := NewBatcher(w, BatcherOptions{Spool: sp})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bat.Close(context.Background()); _ = sp.Close() })
	return bat
}

// BenchmarkPipelineCapture measures Pipeline.Capture for one delivery to a
// bin without signature scheme: id, verdict, answer, hand-off to the
// batcher (whose store discards).
func BenchmarkPipelineCapture(b *testing.B) {
	bat := newBenchBatcher(b, discardWriter{})
	p := NewPipeline(benchBins{}, bat, Options{})
	in := benchDelivery()
	b.ReportAllocs()
	for b.Loop() {
		cp := *in
		if resp, err := p.Capture(context.Background(), "bench", &cp); err != nil || resp.Status != 200 {
			b.Fatalf("capture: %d %v", resp.Status, err)
		}
	}
}

// BenchmarkBatcherSQLite measures the write path: each iteration captures
// 1000 deliveries into the batcher, which writes them to a real embedded
// store (WAL, synchronous=NORMAL) on disk, and waits for Flush. ns/request
// is the sustained cost of persisting one 1 KB delivery.
func BenchmarkBatcherSQLite(b *testing.B) {
	const perOp = 1000
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookscope.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bat := newBenchBatcher(b, st)
	p := NewPipeline(benchBins{}, bat, Options{})
	in := benchDelivery()
	b.SetBytes(in.BodySize * perOp)
	b.ReportAllocs()
	for b.Loop() {
		for range perOp {
			cp := *in
			if _, err := p.Capture(ctx, "bench", &cp); err != nil {
				b.Fatal(err)
			}
		}
		if err := bat.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perOp), "ns/request")
	if n, err := st.CountRequests(ctx, "bench"); err != nil || n != int64(b.N*perOp) {
		b.Fatalf("stored %d requests (%v), want %d", n, err, b.N*perOp)
	}
}
