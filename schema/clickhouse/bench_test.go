package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// EnvBenchRows lists table sizes for the query benchmarks, e.g.
// HOOKSCOPE_BENCH_ROWS=1000000,10000000. Unset: the query benchmarks skip.
const EnvBenchRows = "HOOKSCOPE_BENCH_ROWS"

// benchBins is how many bins share the filled table; the benchmarked bin
// holds 1/benchBins of the rows.
const benchBins = 10

var jsonBody = func() []byte {
	b := []byte(`{"id":"evt_1NqQZ2","type":"invoice.payment_succeeded","data":{"object":{"amount":2000,"currency":"usd","customer":"cus_9s6XKzkNRiz8i3","lines":[`)
	for len(b) < 1000 {
		b = append(b, `{"price":"price_1Nq","quantity":1},`...)
	}
	b = append(b[:len(b)-1], `]}}}`...)
	return b
}()

func benchRequests(bin string, n int, at time.Time) []*schema.Request {
	reqs := make([]*schema.Request, n)
	for i := range reqs {
		reqs[i] = &schema.Request{
			ID: uuid.Must(uuid.NewV7()), BinID: bin, ReceivedAt: at.Add(time.Duration(i) * time.Microsecond),
			Method: "POST", Path: "/stripe/events", Query: "source=bench",
			Headers: []schema.Header{
				{Name: "Host", Value: "hookscope.example"}, {Name: "User-Agent", Value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
				{Name: "Content-Type", Value: "application/json; charset=utf-8"}, {Name: "Content-Length", Value: strconv.Itoa(len(jsonBody))},
				{Name: "Stripe-Signature", Value: "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
				{Name: "Accept", Value: "*/*; q=0.5, application/xml"}, {Name: "Cache-Control", Value: "no-cache"},
				{Name: "X-Forwarded-For", Value: "54.187.174.169"},
			},
			RemoteIP: "54.187.174.169", ContentType: "application/json; charset=utf-8",
			Body: jsonBody, BodySize: int64(len(jsonBody)), ResponseStatus: 200, LatencyUS: int64(50 + i%500),
			Signature: schema.Signature{Scheme: "stripe", Status: schema.SigValid},
		}
	}
	return reqs
}

// BenchmarkWriteRequests measures WriteRequests of batches of 10 000
// requests with a 1 KB JSON body, with and without the existing-id check
// that makes retries idempotent.
func BenchmarkWriteRequests(b *testing.B) {
	for _, check := range []bool{true, false} {
		b.Run(fmt.Sprintf("batch=10000/dedup_check=%v", check), func(b *testing.B) {
			s := newStoreOn(b, chtest.Start(b))
			s.skipExistingCheck = !check
			ctx := context.Background()
			at := time.Now().UTC()
			b.ReportAllocs()
			var rows int
			var elapsed time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				reqs := benchRequests("w", 10000, at.Add(time.Duration(i)*time.Second))
				b.StartTimer()
				start := time.Now()
				if err := s.WriteRequests(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				rows += len(reqs)
			}
			b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
		})
	}
}

// BenchmarkExistingIDCheck measures the idempotency check alone for a
// batch of 10 000: a fresh batch (the normal case) and a replayed batch
// whose rows are all stored (the retry case), next to 100 000 stored rows.
func BenchmarkExistingIDCheck(b *testing.B) {
	s := newStoreOn(b, chtest.Start(b))
	ctx := context.Background()
	at := time.Now().UTC()
	var last []*schema.Request
	for i := range 10 {
		last = benchRequests("c", 10000, at.Add(time.Duration(i)*10*time.Millisecond))
		if err := s.WriteRequests(ctx, last); err != nil {
			b.Fatal(err)
		}
	}
	fresh := benchRequests("c", 10000, at.Add(time.Second))
	for _, tc := range []struct {
		name  string
		reqs  []*schema.Request
		found int
	}{{"fresh", fresh, 0}, {"replayed", last, len(last)}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				got, err := s.existingIDs(ctx, tc.reqs)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != tc.found {
					b.Fatalf("found %d stored ids; want %d", len(got), tc.found)
				}
			}
		})
	}
}

// filledStore returns a store whose requests table holds rows rows spread
// over benchBins bins and 30 days, filled with INSERT ... SELECT from
// numbers(). The database is kept between runs on an external server.
func filledStore(b *testing.B, rows int) *Store {
	b.Helper()
	srv := chtest.Start(b)
	ctx := context.Background()
	s, err := Open(ctx, srv.DSN(fmt.Sprintf("hookscope_bench_%d", rows)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var have uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM requests").Scan(&have); err != nil {
		b.Fatal(err)
	}
	if int(have) == rows {
		return s
	}
	for _, table := range partitionedTables { // the stats rollups with their requests
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE "+table); err != nil {
			b.Fatal(err)
		}
	}
	took := fillRequests(b, s, rows)
	b.Logf("filled %d rows in %v", rows, took.Round(time.Millisecond))
	return s
}

// fillRequests inserts rows requests over benchBins bins and 30 days with
// INSERT ... SELECT from numbers() and returns how long it took.
func fillRequests(b *testing.B, s *Store, rows int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	end := time.Now().UTC().UnixMicro()
	span := int64(30 * 24 * time.Hour / time.Microsecond)
	step := span / int64(rows)
	head, tail := string(jsonBody[:schema.PreviewBytes]), string(jsonBody[schema.PreviewBytes:])
	// One INSERT ... SELECT per million rows keeps the server's memory low.
	const chunk = 1_000_000
	for off := 0; off < rows; off += chunk {
		n := min(chunk, rows-off)
		err := s.conn.Exec(ctx, `INSERT INTO requests (`+requestColumns+`)
			SELECT
				concat('bench-', toString(number % ?)) AS bin_id,
				? + toInt64(number) * ? AS received_us,
				toFixedString(reinterpretAsString(cityHash64(number, 1)), 8) || toFixedString(reinterpretAsString(number), 8) AS id,
				received_us AS ingest_us,
				['POST', 'POST', 'POST', 'GET', 'PUT'][number % 5 + 1] AS method,
				'/stripe/events' AS path,
				concat('n=', toString(number)) AS query,
				['Host', 'User-Agent', 'Content-Type', 'Content-Length', 'Stripe-Signature', 'Accept', 'Cache-Control', 'X-Forwarded-For'] AS header_names,
				['hookscope.example', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', 'application/json; charset=utf-8', '1000',
				 concat('t=', toString(number), ',v1=', hex(cityHash64(number))), '*/*; q=0.5, application/xml', 'no-cache',
				 concat('54.187.', toString(number % 251), '.', toString(number % 7))] AS header_values,
				concat('54.187.', toString(number % 251), '.', toString(number % 7)) AS remote_ip,
				'application/json; charset=utf-8' AS content_type,
				toInt64(1000) AS body_size, toUInt8(0) AS body_truncated,
				concat(?, toString(number)) AS body_head,
				? AS body_tail,
				toUInt16([200, 200, 200, 200, 200, 200, 200, 404, 500, 503][number % 10 + 1]) AS response_status,
				toInt64(50 + cityHash64(number) % 5000) AS latency_us,
				'stripe' AS sig_scheme,
				['valid', 'valid', 'valid', 'invalid'][number % 4 + 1] AS sig_status,
				'' AS sig_reason,
				CAST(NULL AS Nullable(Int64)) AS delivery_lag_ms,
				toUInt8(0) AS has_forward, '' AS fwd_url, '' AS fwd_mode, toInt32(0) AS fwd_status,
				toInt64(0) AS fwd_latency_us, '' AS fwd_error, toUInt8(0) AS aborted,
				'' AS event_type, '' AS delivery_id, toInt32(0) AS attempt, '' AS duplicate_of,
				'' AS refused_reason, '' AS redacted
			FROM numbers(?, ?)`,
			benchBins, end-span, step, head[:200], tail, off, n)
		if err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
	return time.Since(start)
}

func benchSizes(b *testing.B) []int {
	v := os.Getenv(EnvBenchRows)
	if v == "" {
		b.Skipf("set %s=1000000,10000000 to fill the table and run the query benchmarks", EnvBenchRows)
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want comma-separated row counts", EnvBenchRows, v)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkQueries measures the read side for one bin (1/10 of the table):
// the newest-50 page, filtered pages and the stats of the whole bin.
func BenchmarkQueries(b *testing.B) {
	for _, rows := range benchSizes(b) {
		s := filledStore(b, rows)
		ctx := context.Background()
		bin := "bench-3"
		cases := []struct {
			name string
			run  func() error
		}{
			{"newest50", func() error {
				p, err := s.ListRequests(ctx, schema.Filter{BinID: bin, Limit: 50})
				if err == nil && len(p.Requests) != 50 {
					err = fmt.Errorf("got %d requests", len(p.Requests))
				}
				return err
			}},
			{"status5xx", func() error {
				_, err := s.ListRequests(ctx, schema.Filter{BinID: bin, Limit: 50, StatusMin: 500, StatusMax: 599})
				return err
			}},
			{"q", func() error {
				_, err := s.ListRequests(ctx, schema.Filter{BinID: bin, Limit: 50, Q: "T=1234"})
				return err
			}},
			{"stats", func() error {
				st, err := s.Stats(ctx, schema.StatsQuery{BinID: bin, Step: time.Hour})
				if err == nil && st.Total != int64(rows/benchBins) {
					err = fmt.Errorf("stats total %d; want %d", st.Total, rows/benchBins)
				}
				return err
			}},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, c.name), func(b *testing.B) {
				for b.Loop() {
					if err := c.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSearchIndex weighs migration 0010's n-gram index on the modern
// server: the same rows inserted into a table with and without it (the
// insert cost, reported as rows/s), and a q= miss, which reads the whole
// bin without the index (HOOKSCOPE_BENCH_ROWS, first size; the benchmarked
// bin holds a tenth).
func BenchmarkSearchIndex(b *testing.B) {
	rows := benchSizes(b)[0]
	srv := chtest.StartKind(b, chtest.Modern)
	ctx := context.Background()
	for _, index := range []bool{false, true} {
		s, err := Open(ctx, srv.Database(b), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if !index {
			if err := s.conn.Exec(ctx, "ALTER TABLE requests DROP INDEX idx_search"); err != nil {
				b.Fatal(err)
			}
			s.searchIndex = false
		} else if !s.searchIndex {
			b.Fatal("no idx_search on the modern server")
		}
		took := fillRequests(b, s, rows)
		b.Logf("index=%v: inserted %d rows in %v (%.0f rows/s)", index, rows, took.Round(time.Millisecond), float64(rows)/took.Seconds())
		b.Run(fmt.Sprintf("rows=%d/index=%v/q-miss", rows, index), func(b *testing.B) {
			for b.Loop() {
				p, err := s.ListRequests(ctx, schema.Filter{BinID: "bench-3", Limit: 50, Q: "no_such_needle_7f3a"})
				if err != nil || len(p.Requests) != 0 {
					b.Fatalf("q miss: %d requests, %v", len(p.Requests), err)
				}
			}
		})
		b.Run(fmt.Sprintf("rows=%d/index=%v/q-hit", rows, index), func(b *testing.B) {
			for b.Loop() {
				p, err := s.ListRequests(ctx, schema.Filter{BinID: "bench-3", Limit: 50, Q: "T=1234"})
				if err != nil {
					b.Fatalf("q hit: %v", err)
				}
				_ = p
			}
		})
	}
}
