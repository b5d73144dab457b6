package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

// QueryRow is one query's latency over runs (each run: the median of
// Samples sequential requests through the HTTP API).
type QueryRow struct {
	Store   string  `json:"store"`
	Rows    int64   `json:"rows"`
	Query   string  `json:"query"`
	Path    string  `json:"path"`
	P50MS   Summary `json:"p50_ms"`
	MaxMS   Summary `json:"max_ms"`
	Samples int     `json:"samples_per_run"`
	Results int     `json:"results"` // requests (pages) or total (stats) in the last answer
}

// The generated bin: a realistic mix. 5% of bodies are payment_failed
// events and 5% of answers are 5xx, independently, so q=payment_failed
// with status=5xx matches 0.25% of the rows: a page of 50 needs about
// 20 000 rows examined, newest first.
var eventTypes = []string{
	"payment_intent.succeeded", "payment_intent.created", "charge.succeeded", "customer.created",
	"invoice.paid", "invoice.finalized", "customer.subscription.updated", "checkout.session.completed",
	"charge.refunded", "payment_method.attached",
}

const failedType = "invoice.payment_failed"

func genBody(typ string, i int) []byte {
	b := fmt.Appendf(nil, `{"id":"evt_%020d","object":"event","api_version":"2024-06-20","type":%q,`+
		`"data":{"object":{"id":"in_%016d","amount_due":%d,"currency":"usd","customer":"cus_%010d",`+
		`"customer_email":"customer%d@example.com","status":"open","lines":{"data":[{"description":"Pro plan","amount":%d}]},"pad":"`,
		i, typ, i, 1000+i%9000, i%50000, i%50000, 1000+i%9000)
	for len(b) < 1021 {
		b = append(b, 'x')
	}
	return append(b, `"}}}`...)
}

// v7At is a UUIDv7 for the given time; seq keeps ids of one millisecond
// ordered.
func v7At(t time.Time, seq uint16) uuid.UUID {
	var id uuid.UUID
	_, _ = rand.Read(id[:])
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(id[:8], ms<<16|uint64(0x7000|seq&0x0fff))
	id[8] = id[8]&0x3f | 0x80
	return id
}

// fillSQLite writes n requests for one bin straight through the store's
// WriteRequests in batches of 10 000, bypassing HTTP and the batcher.
func fillSQLite(ctx context.Context, dir, binID string, n int) (time.Duration, error) {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "hookscope.db"), sqlite.Options{})
	if err != nil {
		return 0, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	now := time.Now().UTC()
	if err := st.CreateBin(ctx, &schema.Bin{ID: binID, Name: "bench-query", CreatedAt: now.Add(-24 * time.Hour)}); err != nil {
		return 0, fmt.Errorf("create bin: %w", err)
	}
	headers := []schema.Header{
		{Name: "Host", Value: "hookscope.example.com"}, {Name: "User-Agent", Value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
		{Name: "Content-Type", Value: "application/json; charset=utf-8"}, {Name: "Content-Length", Value: "1024"},
		{Name: "Accept", Value: "*/*; q=0.5, application/xml"}, {Name: "Cache-Control", Value: "no-cache"},
		{Name: "Stripe-Signature", Value: "t=1719400000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
		{Name: "Accept-Encoding", Value: "gzip"}, {Name: "X-Forwarded-Proto", Value: "https"},
		{Name: "X-Request-Id", Value: "8f14e45f-ceea-467e-a9b2-c4a5d6e7f801"},
	}
	ips := []string{"54.187.174.169", "54.187.205.235", "54.187.216.72", "54.241.31.99", "54.241.31.102",
		"54.241.34.107", "3.18.12.63", "3.130.192.231", "13.235.14.237", "13.235.122.149"}
	// 5% of rows get a payment_failed body and, independently, 5% a 5xx
	// answer: both are drawn from separate hashes of the row number.
	bodies := make([][]byte, 0, len(eventTypes))
	for i, typ := range eventTypes {
		bodies = append(bodies, genBody(typ, i))
	}
	failedBody := genBody(failedType, len(eventTypes))
	// received_at spans the last 23 hours, oldest first: the default stats
	// window (24 h) covers every row.
	first := now.Add(-23 * time.Hour)
	step := 23 * time.Hour / time.Duration(n)
	start := time.Now()
	const batchSize = 10_000
	batch := make([]*schema.Request, 0, batchSize)
	reqs := make([]schema.Request, batchSize)
	var lastMS int64
	var seq uint16
	for i := 0; i < n; i++ {
		at := schema.Truncate(first.Add(time.Duration(i) * step))
		if ms := at.UnixMilli(); ms == lastMS {
			seq++
		} else {
			lastMS, seq = ms, 0
		}
		hs, hb := mix(uint64(i)), mix(uint64(i)^0x9e3779b97f4a7c15)
		status := 200
		switch {
		case hs%100 < 5:
			status = 500 + int(hs>>8)%4
		case hs%100 < 7:
			status = 404
		}
		body := bodies[(hb>>8)%uint64(len(bodies))]
		if hb%100 < 5 {
			body = failedBody
		}
		r := &reqs[len(batch)]
		*r = schema.Request{
			ID: v7At(at, seq), BinID: binID, ReceivedAt: at, Method: "POST", Path: "/stripe/events",
			Headers: headers, RemoteIP: ips[i%len(ips)], ContentType: "application/json; charset=utf-8",
			Body: body, BodySize: int64(len(body)), ResponseStatus: status,
			LatencyUS: int64(80 + (i*7919)%900), Signature: schema.Signature{Status: schema.SigUnchecked},
		}
		batch = append(batch, r)
		if len(batch) == batchSize || i == n-1 {
			if err := st.WriteRequests(ctx, batch); err != nil {
				return 0, fmt.Errorf("write batch at row %d: %w", i, err)
			}
			batch = batch[:0]
		}
	}
	return time.Since(start), nil
}

// mix is splitmix64's finalizer: a cheap, well-spread hash of a row number.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

type queryCase struct{ name, path string }

// runQuery fills a store with h.queryRows requests of one bin, starts
// hookscope on it and times the API's newest page, filtered page and stats.
func (h *harness) runQuery() ([]QueryRow, float64, error) {
	dir := h.tmpPath("query-embedded")
	binID := uuid.NewString()
	h.progress("query: generating %d rows in the embedded store ...", h.queryRows)
	took, err := fillSQLite(context.Background(), dir, binID, h.queryRows)
	if err != nil {
		return nil, 0, err
	}
	rate := float64(h.queryRows) / took.Seconds()
	h.progress("query: generated %d rows in %s (%.0f rows/s)", h.queryRows, took.Round(time.Millisecond), rate)
	hs, err := h.startHookscope("hookscope-query", dir)
	if err != nil {
		return nil, rate, err
	}
	defer hs.stop()
	rows, err := h.timeQueries("embedded", hs.addr, binID, h.queryRows)
	return rows, rate, err
}

// timeQueries times the newest page, the filtered page and the stats of
// one bin through the API.
func (h *harness) timeQueries(store, addr, binID string, n int) ([]QueryRow, error) {
	base := "http://" + addr + "/api/v1/bins/" + binID
	cases := []queryCase{
		{"newest-50 page", "/requests?limit=50"},
		{"filtered page (q + status=5xx)", "/requests?limit=50&q=payment_failed&status=5xx"},
		// q= alone: a hit (5% of bodies) and a miss (no body has it: the
		// whole bin is searched).
		{"q= hit", "/requests?limit=50&q=payment_failed"},
		{"q= miss", "/requests?limit=50&q=no_such_needle_7f3a"},
		{"stats (24 h)", "/stats"},
	}
	var rows []QueryRow
	for _, qc := range cases {
		row := QueryRow{Store: store, Rows: int64(n), Query: qc.name, Path: qc.path}
		var p50, mx []float64
		warm, _, err := timeGet(base + qc.path) // warm the page cache
		if err != nil {
			return nil, err
		}
		// A slow query (the stats of a big bin take seconds) gets fewer
		// samples per run, so the whole harness stays within its budget.
		samples := h.querySamples
		if warm > time.Second {
			samples = max(1, min(samples, int(3*time.Second/warm)))
		}
		for run := 0; run < h.runs; run++ {
			var ds []time.Duration
			if run == 0 && warm > 5*time.Second {
				// Very slow (seconds per call): the warm-up call is run 1's
				// sample; the data was just written, so the page cache is
				// as warm as it will get.
				ds = append(ds, warm)
			}
			for len(ds) < samples {
				d, n, err := timeGet(base + qc.path)
				if err != nil {
					return nil, err
				}
				ds = append(ds, d)
				row.Results = n
			}
			slices.Sort(ds)
			p50 = append(p50, float64(percentile(ds, 50))/1e6)
			mx = append(mx, float64(ds[len(ds)-1])/1e6)
			h.progress("query run %d/%d %-10s %8d rows %-32s p50 %8.1f ms max %8.1f ms", run+1, h.runs, store, n, qc.name, p50[len(p50)-1], mx[len(mx)-1])
		}
		row.P50MS, row.MaxMS, row.Samples = summarize(p50), summarize(mx), samples
		rows = append(rows, row)
	}
	return rows, nil
}

// timeGet times one GET and returns how many requests the answer listed (or
// the stats total).
func timeGet(url string) (time.Duration, int, error) {
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		return 0, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != 200 {
		return 0, 0, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return d, countResults(b), nil
}
