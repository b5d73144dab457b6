package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// metricValue reads one unlabelled sample from /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestLogCapAnswers503 goes through real HTTP with a store outage: while
// ClickHouse is down the store writer falls behind and capture keeps
// answering 2xx from the capture log; at HOOKSCOPE_LOG_MAX_BYTES capture
// answers 503 with Retry-After and a message naming the cause; once
// ClickHouse is back every request answered 2xx is stored exactly once
// and capture answers 2xx again.
func TestLogCapAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: skipped in -short mode")
	}
	chtest.EachOwn(t, func(t *testing.T, srv *chtest.Server) {
		dsn := srv.DSN("hookscope_cap")
		a := startApp(t, t.TempDir(), map[string]string{
			"HOOKSCOPE_CLICKHOUSE_URL": dsn,
			"HOOKSCOPE_LOG_MAX_BYTES":  strconv.Itoa(1 << 20),
		})
		bin := a.newBin(t, nil)
		body := strings.Repeat("x", 16<<10)
		post := func() (int, http.Header, []byte) {
			return call(t, "POST", a.base+"/h/"+bin.ID, map[string]string{"Content-Type": "text/plain"}, body)
		}
		if s, _, _ := post(); s != 200 {
			t.Fatalf("before the outage: %d", s)
		}
		srv.Kill()
		answered := map[string]bool{}
		var status int
		var hdr http.Header
		var msg []byte
		for i := 0; ; i++ {
			if i > 1000 {
				t.Fatal("16 MB captured into a 1 MiB log without a 503")
			}
			status, hdr, msg = post()
			if status != 200 {
				break
			}
			answered[hdr.Get("X-Hookscope-Request-Id")] = true
		}
		if status != 503 || hdr.Get("Retry-After") == "" || hdr.Get("X-Hookscope-Request-Id") != "" ||
			!bytes.Contains(msg, []byte("capture log full")) {
			t.Fatalf("at the cap: %d %v %s", status, hdr, msg)
		}
		if len(answered) < 8 {
			t.Fatalf("only %d answered before the cap: the writer did not fall behind", len(answered))
		}
		if d := metricValue(t, a.base, "hookscope_writer_queue_depth"); d < float64(len(answered)) {
			t.Errorf("writer backlog %v, %d answered during the outage", d, len(answered))
		}

		srv.Restart(t)
		pollUntil(t, "capture to answer 2xx again", func() bool {
			s, h, _ := post()
			if s == 200 {
				answered[h.Get("X-Hookscope-Request-Id")] = true
			}
			return s == 200
		})
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{strings.Split(dsn, "/")[2]}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		stored := map[uuid.UUID]int{}
		pollUntil(t, "every answered request in ClickHouse", func() bool {
			clear(stored)
			rs, err := conn.Query(context.Background(), "SELECT UUIDNumToString(id) FROM hookscope_cap.requests WHERE bin_id = ?", bin.ID)
			if err != nil {
				return false // the restarted server may still be loading the table
			}
			for rs.Next() {
				var id string
				if err := rs.Scan(&id); err != nil {
					t.Fatal(err)
				}
				stored[uuid.MustParse(id)]++
			}
			rs.Close()
			for id := range answered {
				if stored[uuid.MustParse(id)] == 0 {
					return false
				}
			}
			return true
		})
		for id, n := range stored {
			if n != 1 {
				t.Fatalf("request %s stored %d times", id, n)
			}
		}
	})
}

// TestFullDiskAnswers503: a hookscope whose files cannot grow past 4 MiB
// (ulimit -f: writes fail with EFBIG, as on a full disk) answers 503 naming
// the capture log once its segment cannot grow, never a 2xx it did not make
// durable; restarted with room, every request it answered 2xx is stored
// exactly once and capture works again.
func TestFullDiskAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	child, base, stderr := startCrashChild(t, dir, nil, 8192)
	var b binResp
	doJSON(t, "POST", base+"/api/v1/bins", nil, 201, &b)
	body := strings.Repeat("y", 16<<10)
	answered := map[string]bool{}
	var status int
	var hdr http.Header
	var msg []byte
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatalf("32 MB captured with a 4 MiB file limit; child stderr:\n%s", stderr.String())
		}
		status, hdr, msg = call(t, "POST", base+"/h/"+b.ID, map[string]string{"Content-Type": "text/plain"}, body)
		if status != 200 {
			break
		}
		answered[hdr.Get("X-Hookscope-Request-Id")] = true
	}
	if status != 503 || hdr.Get("X-Hookscope-Request-Id") != "" || !bytes.Contains(msg, []byte("capture log unavailable")) {
		t.Fatalf("with the disk full: %d %v %s", status, hdr, msg)
	}
	if len(answered) < 100 {
		t.Fatalf("only %d answered before the limit", len(answered))
	}
	// It stays refused while the disk is full.
	if s, _, _ := call(t, "POST", base+"/h/"+b.ID, nil, body); s != 503 {
		t.Fatalf("second capture with the disk full: %d", s)
	}
	child.Process.Kill()
	child.Wait()

	a := startApp(t, dir, nil)
	stored := map[uuid.UUID]int{}
	pollUntil(t, "every answered request stored", func() bool {
		clear(stored)
		l := a.list(t, b.ID, "limit=1000")
		for _, r := range l.Requests {
			stored[uuid.MustParse(r.ID)]++
		}
		for id := range answered {
			if stored[uuid.MustParse(id)] == 0 {
				return false
			}
		}
		return true
	})
	for id, n := range stored {
		if n != 1 {
			t.Fatalf("request %s listed %d times", id, n)
		}
	}
	if s, _, _ := call(t, "POST", a.base+"/h/"+b.ID, nil, body); s != 200 {
		t.Fatalf("capture after the restart: %d", s)
	}
	t.Logf("%d answered before the disk was full, all stored once after the restart", len(answered))
}
