// Package drivercmp compares pure-Go SQLite drivers on hookscope's two hot
// paths: a 1000-request batch write and a newest-50 page. It is a separate
// module so the losing driver never enters hookscope's go.mod. Both drivers
// run the same schema (../migrations/0001_init.sql), the same pragmas and the
// same statements through database/sql.
//
//	cd schema/sqlite/drivercmp && go test -run '^$' -bench . -benchtime 100x -count 3
package drivercmp

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/ncruces/go-sqlite3/driver"
	_ "modernc.org/sqlite"
)

const insertSQL = `INSERT INTO requests (
    id, bin_id, received_at, method, path, query, headers, remote_ip, content_type,
    body_size, body_truncated, response_status, latency_us,
    sig_scheme, sig_status, sig_reason, delivery_lag_ms, forward, body
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`

const pageSQL = `SELECT id, bin_id, received_at, method, path, query, headers, remote_ip, content_type,
    body_size, body_truncated, response_status, latency_us,
    sig_scheme, sig_status, sig_reason, delivery_lag_ms, forward, substr(body, 1, 256)
FROM requests WHERE bin_id = ? ORDER BY received_at DESC, id DESC LIMIT 51`

type driver struct{ name, sqlName string }

var drivers = []driver{{"modernc", "sqlite"}, {"ncruces", "sqlite3"}}

func open(tb testing.TB, d driver, dir string) *sql.DB {
	path := filepath.Join(dir, d.name+".db")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "page_size(32768)")
	// modernc applies _pragma values sorted by name, so journal_mode(WAL)
	// would run before page_size and freeze 4 KiB pages; its _journal_mode
	// key runs after the list (this is what the store uses).
	if d.name == "modernc" {
		q.Set("_journal_mode", "WAL")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open(d.sqlName, "file:"+path+"?"+q.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	ddl, err := os.ReadFile("../migrations/0001_init.sql")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(string(ddl)); err != nil { // both drivers run multi-statement scripts
		tb.Fatalf("schema: %v", err)
	}
	return db
}

var body = func() []byte {
	var b strings.Builder
	b.WriteString(`{"id":"evt_1NqFj2LkdIwHu7ix","object":"event","data":{`)
	for i := 0; b.Len() < 1000; i++ {
		fmt.Fprintf(&b, `"field_%02d":"value %d of the payload",`, i, i)
	}
	b.WriteString(`"end":true}}`)
	return []byte(b.String())
}()

// ten headers in the store's stored form (name 0 value 0 ...).
var headers = func() []byte {
	var b []byte
	for _, h := range [][2]string{{"Host", "hooks.example.com"}, {"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
		{"Content-Type", "application/json; charset=utf-8"}, {"Content-Length", "1024"}, {"Accept", "*/*; q=0.5"},
		{"Accept-Encoding", "gzip"}, {"Cache-Control", "no-cache"}, {"Stripe-Signature", "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
		{"X-Request-Id", "5e3c2a1b-8f7d-4e6a-9b0c-1d2e3f4a5b6c"}, {"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}} {
		b = append(append(append(append(b, h[0]...), 0), h[1]...), 0)
	}
	return b
}()

func writeBatch(tb testing.TB, db *sql.DB, stmt *sql.Stmt, start time.Time, n int) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	st := tx.StmtContext(ctx, stmt)
	for i := range n {
		id, _ := uuid.NewV7()
		if _, err := st.ExecContext(ctx, id[:], "bench", start.Add(time.Duration(i)*25*time.Microsecond).UnixMicro(),
			"POST", "/stripe/events", "x=1", headers, "203.0.113.7", "application/json", int64(len(body)), false,
			200, int64(50+i%400), "stripe", "valid", "", nil, nil, body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkBatchWrite1000(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d, b.TempDir())
			defer db.Close()
			stmt, err := db.Prepare(insertSQL)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			start := time.Now().Add(-time.Hour)
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				writeBatch(b, db, stmt, start.Add(time.Duration(i)*time.Second), 1000)
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*1000), "cpu-ns/req")
		})
	}
}

// BenchmarkNewest50 reads the newest page of a bin of 200k requests.
func BenchmarkNewest50(b *testing.B) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			db := open(b, d, b.TempDir())
			defer db.Close()
			stmt, err := db.Prepare(insertSQL)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now().Add(-time.Hour)
			for i := range 200 {
				writeBatch(b, db, stmt, start.Add(time.Duration(i)*time.Second), 1000)
			}
			stmt.Close()
			b.ResetTimer()
			for b.Loop() {
				rows, err := db.Query(pageSQL, "bench")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					var (
						id, hdr, fwd, prev                               []byte
						bin, method, path, query, ip, ct, sch, sst, srea string
						at, size, lat                                    int64
						trunc                                            bool
						status                                           int
						lag                                              sql.NullInt64
					)
					if err := rows.Scan(&id, &bin, &at, &method, &path, &query, &hdr, &ip, &ct, &size, &trunc, &status, &lat,
						&sch, &sst, &srea, &lag, &fwd, &prev); err != nil {
						b.Fatal(err)
					}
					n++
				}
				rows.Close()
				if n != 51 {
					b.Fatalf("%d rows", n)
				}
			}
		})
	}
}
