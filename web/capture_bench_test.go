package web

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/ingest/caplog/disklog"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/live"
	"github.com/hookscope/hookscope/web/wire"
)

// benchBins is a bin source with one bin that never expires.
type benchBins struct{ bin *schema.Bin }

func (s benchBins) GetBin(_ context.Context, id string) (*schema.Bin, error) {
	if id != s.bin.ID {
		return nil, schema.ErrNotFound
	}
	return s.bin, nil
}

// discardWriter is a store that takes every batch at once: the benchmark
// measures the capture path, not the disk.
type discardWriter struct{}

func (discardWriter) WriteRequests(context.Context, []*schema.Request) error { return nil }

// benchDelivery is a raw Stripe-like delivery as it arrives on the wire:
// a ~1 KB JSON body and ten headers.
func benchDelivery(bin string) []byte {
	body := `{"id":"evt_1Pq2Rs3Tu4Vw5Xy6Za7Bc8De","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3Pq2Rs3Tu4Vw5Xy61AbCdEfG","amount":2000,"currency":"usd","pad":"` +
		strings.Repeat("x", 850) + `"}}}`
	var b bytes.Buffer
	b.WriteString("POST /h/" + bin + "/stripe/events HTTP/1.1\r\n")
	b.WriteString("Host: 127.0.0.1:8080\r\n")
	b.WriteString("Content-Type: application/json; charset=utf-8\r\n")
	b.WriteString("User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n")
	b.WriteString("Accept: */*; q=0.5, application/xml\r\n")
	b.WriteString("Cache-Control: no-cache\r\n")
	b.WriteString("Stripe-Signature: t=1719400000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd\r\n")
	b.WriteString("X-Request-Id: 8f14e45f-ceea-467e-a9b2-c4a5d6e7f801\r\n")
	b.WriteString("Accept-Encoding: gzip\r\n")
	b.WriteString("X-Forwarded-Proto: https\r\n")
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n")
	b.WriteString(body)
	return b.Bytes()
}

func itoa(n int) string { return string(fasthttp.AppendUint(nil, n)) }

// BenchmarkCaptureHandler measures the capture handler on one request as
// fasthttp hands it over (already parsed): copy out of fasthttp's buffers,
// bin lookup (cached), id, signature verdict (none), append to the capture
// log (ack=durable: one fdatasync per request, since this loop never shares
// a group commit), answer. The store writer discards; the hub has no
// subscriber.
func BenchmarkCaptureHandler(b *testing.B) {
	bin := &schema.Bin{ID: "0193b1b2-7c1d-7e55-8a2f-3c4d5e6f7a8b", Name: "bench"}
	clog, err := disklog.Open(b.TempDir(), disklog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer clog.Close()
	hub := live.New(live.Options{Encode: wire.EncodeLive})
	defer hub.Close()
	cons, err := ingest.StartConsumers(context.Background(), clog, discardWriter{}, nil, hub, ingest.ConsumerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close(context.Background())
	pipe := ingest.NewPipeline(benchBins{bin}, clog, ingest.Options{})
	s := New(Deps{Pipeline: pipe, Hub: hub}, Options{})

	raw := benchDelivery(bin.ID)
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 40000}, nil)
	br := bufio.NewReader(bytes.NewReader(raw))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		br.Reset(bytes.NewReader(raw))
		if err := ctx.Request.Read(br); err != nil {
			b.Fatal(err)
		}
		s.capture(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkEncodeLive measures the live-feed message of one captured
// request (the hub encodes each request once).
func BenchmarkEncodeLive(b *testing.B) {
	r := &schema.Request{
		BinID: "0193b1b2-7c1d-7e55-8a2f-3c4d5e6f7a8b", ReceivedAt: time.Now().UTC(), Method: "POST",
		Path: "/stripe/events", RemoteIP: "203.0.113.7", ContentType: "application/json",
		Headers: parseRawHeaders([]byte("Host: a\r\nContent-Type: application/json\r\nUser-Agent: Stripe/1.0\r\n" +
			"Accept: */*\r\nCache-Control: no-cache\r\nStripe-Signature: t=1,v1=abc\r\nX-Request-Id: 1\r\n" +
			"Accept-Encoding: gzip\r\nX-Forwarded-Proto: https\r\nContent-Length: 1024\r\n")),
		Body: bytes.Repeat([]byte("x"), 1024), BodySize: 1024, ResponseStatus: 200,
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(wire.EncodeLive(r)) == 0 {
			b.Fatal("empty message")
		}
	}
}
