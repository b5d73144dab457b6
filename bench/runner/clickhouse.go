package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// chServer is the ClickHouse server of the figures: one the harness
// started through schema/clickhouse/chtest (the tests' launcher, so the
// bench runs the same 18.16 or 26.7 server the suites do), or one the user
// named by URL.
type chServer struct {
	*chtest.Server
}

// chLogsXML turns on system.query_log and system.part_log (BENCH_CH_LOGS=1,
// with -keep: to see where the server's CPU goes; they cost some of it).
const chLogsXML = `  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
  <part_log><database>system</database><table>part_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log>
`

// startClickHouse starts a server of kind h.chKind on free loopback ports
// with a data directory in the harness's temporary directory, pinned to
// h.serverCPUs when the harness pins.
func (h *harness) startClickHouse() (*chServer, error) {
	dir := h.tmpPath("clickhouse-" + string(h.chKind))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := chtest.Config{Kind: h.chKind, Dir: dir, CPUs: h.serverCPUs}
	if os.Getenv("BENCH_CH_LOGS") != "" {
		c.ExtraConfig, c.ExtraProfile = chLogsXML, "<log_queries>1</log_queries>"
	}
	s, err := chtest.Launch(c)
	if err != nil {
		return nil, fmt.Errorf("start clickhouse %s: %w", h.chKind, err)
	}
	h.progress("clickhouse %s (version %s) listening on %s", s.Kind, s.Version, s.Addr)
	return &chServer{s}, nil
}

func (s *chServer) url(db string) string { return s.DSN(db) }

func (s *chServer) exec(ctx context.Context, q string, args ...any) error {
	return s.Exec(ctx, q, args...)
}

// externalClickHouse wraps a server the user named by URL
// (clickhouse://host:port[/db]); the harness uses its own databases on it.
func externalClickHouse(raw string) (*chServer, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("HOOKSCOPE_BENCH_CLICKHOUSE_URL %q: want clickhouse://host:port", raw)
	}
	return &chServer{&chtest.Server{Addr: u.Host, Kind: "external"}}, nil
}

func (s *chServer) stop() { s.Stop() }

// fillClickHouse inserts n requests of one bin with INSERT ... SELECT FROM
// numbers(n): the same mix as the embedded generator (5% payment_failed
// bodies, 5% 5xx answers, independently), spread over the last 23 hours.
// The bin itself is created through the API (the store's bins table).
func fillClickHouse(ctx context.Context, s *chServer, db, binID string, n int) (time.Duration, error) {
	now := time.Now().UTC()
	first := now.Add(-23 * time.Hour).UnixMicro()
	step := (23 * time.Hour).Microseconds() / int64(n)
	pad := strings.Repeat("x", 700)
	var types []string
	for _, t := range eventTypes {
		types = append(types, "'"+t+"'")
	}
	q := `INSERT INTO ` + db + `.requests (bin_id, received_us, id, ingest_us, method, path, query,
    header_names, header_values, remote_ip, content_type, body_size, body_truncated, body_head, body_tail,
    response_status, latency_us, sig_scheme, sig_status, sig_reason, delivery_lag_ms,
    has_forward, fwd_url, fwd_mode, fwd_status, fwd_latency_us, fwd_error)
SELECT
    '` + binID + `',
    ` + strconv.FormatInt(first, 10) + ` + toInt64(number) * ` + strconv.FormatInt(step, 10) + `,
    MD5(toString(number)),
    ` + strconv.FormatInt(first, 10) + ` + toInt64(number) * ` + strconv.FormatInt(step, 10) + `,
    'POST', '/stripe/events', '',
    ['Host','User-Agent','Content-Type','Content-Length','Accept','Cache-Control','Stripe-Signature','Accept-Encoding','X-Forwarded-Proto','X-Request-Id'],
    ['hookscope.example.com','Stripe/1.0 (+https://stripe.com/docs/webhooks)','application/json; charset=utf-8','1024','*/*; q=0.5, application/xml','no-cache','t=1719400000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd','gzip','https','8f14e45f-ceea-467e-a9b2-c4a5d6e7f801'],
    ['54.187.174.169','54.187.205.235','54.187.216.72','54.241.31.99','54.241.31.102','54.241.34.107','3.18.12.63','3.130.192.231','13.235.14.237','13.235.122.149'][number % 10 + 1],
    'application/json; charset=utf-8',
    1024, 0,
    substring(body, 1, 256), substring(body, 257, 10000),
    toUInt16(multiIf(hs % 100 < 5, 500 + intDiv(hs, 256) % 4, hs % 100 < 7, 404, 200)),
    toInt64(80 + (number * 7919) % 900),
    '', 'unchecked', '', NULL,
    0, '', '', 0, 0, ''
FROM (
    SELECT number, cityHash64(number) AS hs, cityHash64(number, 1) AS hb,
        concat('{"id":"evt_', toString(number), '","object":"event","api_version":"2024-06-20","type":"',
            if(hb % 100 < 5, '` + failedType + `', [` + strings.Join(types, ",") + `][intDiv(hb, 256) % 10 + 1]),
            '","data":{"object":{"id":"in_', toString(number), '","amount_due":', toString(1000 + number % 9000),
            ',"currency":"usd","customer":"cus_', toString(number % 50000), '","status":"open","pad":"` + pad + `"}}}') AS body
    FROM numbers(` + strconv.Itoa(n) + `)
)`
	start := time.Now()
	if err := s.exec(ctx, q); err != nil {
		return 0, fmt.Errorf("insert select: %w", err)
	}
	return time.Since(start), nil
}

// runQueryClickHouse measures the same queries on ClickHouse with each
// row count in h.chRows (one bin per row count, in one table).
func (h *harness) runQueryClickHouse(s *chServer) ([]QueryRow, error) {
	const db = "hookscope_bench_query"
	hs, err := h.startHookscope("hookscope-query-ch", h.tmpPath("query-ch"), "HOOKSCOPE_CLICKHOUSE_URL="+s.url(db))
	if err != nil {
		return nil, err
	}
	defer hs.stop()
	var rows []QueryRow
	var lastRate float64 // rows/s of the previous fill
	for _, n := range h.chRows {
		if lastRate > 0 && float64(n)/lastRate > h.chFillBudget.Seconds() && os.Getenv("BENCH_CH_FORCE") == "" {
			h.note("ClickHouse %d-row figures skipped: the fill would take ~%.0f s at %.0f rows/s on this machine (budget %s; BENCH_CH_FORCE=1 runs it anyway)",
				n, float64(n)/lastRate, lastRate, h.chFillBudget)
			continue
		}
		bin, err := createBin(hs.addr)
		if err != nil {
			return nil, err
		}
		h.progress("query: generating %d rows in ClickHouse ...", n)
		took, err := fillClickHouse(context.Background(), s, db, bin, n)
		if err != nil {
			return nil, err
		}
		h.progress("query: generated %d rows in ClickHouse in %s (%.0f rows/s)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		lastRate = float64(n) / took.Seconds()
		h.chFill = append(h.chFill, fmt.Sprintf("%d rows in %s", n, took.Round(time.Second)))
		r, err := h.timeQueries("clickhouse "+s.Version, hs.addr, bin, n)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}
