package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// chServer is a throw-away clickhouse-server the harness started (the same
// recipe as schema/clickhouse/chtest, which needs a testing.TB).
type chServer struct {
	cmd  *exec.Cmd
	addr string
	dir  string
}

const chConfigXML = `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{{dir}}/log/server.log</log><errorlog>{{dir}}/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{{tcp}}</tcp_port>
  <http_port>{{http}}</http_port>
  <path>{{dir}}/data/</path>
  <tmp_path>{{dir}}/tmp/</tmp_path>
  <user_files_path>{{dir}}/user_files/</user_files_path>
  <format_schema_path>{{dir}}/format_schemas/</format_schema_path>
  <users_config>{{dir}}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
{{logs}}</yandex>
`

// chLogsXML turns on system.query_log and system.part_log (BENCH_CH_LOGS=1,
// with -keep: to see where the server's CPU goes; they cost some of it).
const chLogsXML = `  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
  <part_log><database>system</database><table>part_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></part_log>
`

const chUsersXML = `<?xml version="1.0"?>
<yandex>
  <profiles><default>{{log_queries}}</default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`

// startClickHouse starts clickhouse-server on free loopback ports with a
// temporary data directory.
func (h *harness) startClickHouse() (*chServer, error) {
	var bin []string
	for _, name := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = []string{p}
			break
		}
	}
	if bin == nil {
		if p, err := exec.LookPath("clickhouse"); err == nil {
			bin = []string{p, "server"}
		} else {
			return nil, errors.New("no clickhouse-server binary found")
		}
	}
	dir := h.tmpPath("clickhouse")
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	tcpAddr, err1 := freeAddr()
	httpAddr, err2 := freeAddr()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	port := func(a string) string { return a[strings.LastIndexByte(a, ':')+1:] }
	logs, logQueries := "", ""
	if os.Getenv("BENCH_CH_LOGS") != "" {
		logs, logQueries = chLogsXML, "<log_queries>1</log_queries>"
	}
	r := strings.NewReplacer("{{dir}}", dir, "{{tcp}}", port(tcpAddr), "{{http}}", port(httpAddr),
		"{{logs}}", logs, "{{log_queries}}", logQueries)
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(r.Replace(chConfigXML)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(r.Replace(chUsersXML)), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, err
	}
	argv := pinned(h.serverCPUs, append(bin, "--config-file="+filepath.Join(dir, "config.xml")))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start clickhouse-server: %w", err)
	}
	s := &chServer{cmd: cmd, addr: tcpAddr, dir: dir}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := s.exec(context.Background(), "SELECT 1"); err == nil {
			return s, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.stop()
	b, _ := os.ReadFile(filepath.Join(dir, "log", "server.err.log"))
	return nil, fmt.Errorf("clickhouse-server not ready after 60s: %s", lastLines(string(b), 5))
}

func (s *chServer) url(db string) string { return "clickhouse://" + s.addr + "/" + db }

func (s *chServer) exec(ctx context.Context, q string, args ...any) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.addr}, DialTimeout: 2 * time.Second,
		ReadTimeout: 30 * time.Minute})
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Exec(ctx, q, args...)
}

// externalClickHouse wraps a server the user named by URL
// (clickhouse://host:port[/db]); the harness uses its own databases on it.
func externalClickHouse(raw string) (*chServer, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("HOOKSCOPE_BENCH_CLICKHOUSE_URL %q: want clickhouse://host:port", raw)
	}
	return &chServer{addr: u.Host}, nil
}

func (s *chServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

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
		r, err := h.timeQueries("clickhouse", hs.addr, bin, n)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}
