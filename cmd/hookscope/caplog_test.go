package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
		var stored map[uuid.UUID]int
		pollUntil(t, "every answered request in ClickHouse", func() bool {
			var err error
			if stored, err = chStoredIDs(conn, "hookscope_cap", bin.ID); err != nil {
				return false // the restarted server may still be loading the table
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

// TestCorruptAndTornLog: a hookscope killed before its store writer wrote
// anything leaves 20 answered requests in the capture log only. With one
// frame's payload damaged on disk and a torn frame appended at the tail, the
// next start truncates the tail, skips exactly the damaged record (counted
// in /metrics), and stores the other 19.
func TestCorruptAndTornLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	// The writer lingers an hour for a batch of 100 000: nothing reaches
	// the store before the kill.
	env := map[string]string{"HOOKSCOPE_FLUSH_INTERVAL": "1h", "HOOKSCOPE_BATCH_SIZE": "100000"}
	child, base, _ := startCrashChild(t, dir, env, 0)
	var b binResp
	doJSON(t, "POST", base+"/api/v1/bins", nil, 201, &b)
	ids := map[string]string{}
	for i := range 20 {
		marker := fmt.Sprintf("marker-%02d", i)
		s, h, _ := call(t, "POST", base+"/h/"+b.ID, map[string]string{"Content-Type": "application/json"}, `{"m":"`+marker+`"}`)
		if s != 200 {
			t.Fatalf("capture %d: %d", i, s)
		}
		ids[marker] = h.Get("X-Hookscope-Request-Id")
	}
	child.Process.Kill()
	child.Wait()

	segs, _ := filepath.Glob(filepath.Join(dir, "log", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no log segment")
	}
	damaged := false
	for _, seg := range segs {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(data, []byte("marker-07")); i >= 0 {
			data[i+len("marker-0")] = '8' // a flipped byte inside the payload
			damaged = true
		}
		if seg == segs[len(segs)-1] {
			data = append(data, "HCF1\x40\x00\x00\x00 torn"...) // a frame cut short by the crash
		}
		if err := os.WriteFile(seg, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if !damaged {
		t.Fatal("marker-07 not found in the log")
	}

	a := startApp(t, dir, nil)
	a.waitCount(t, b.ID, 19)
	for marker, id := range ids {
		s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+b.ID+"/requests/"+id, nil, "")
		if want := map[bool]int{true: 404, false: 200}[marker == "marker-07"]; s != want {
			t.Errorf("%s: %d, want %d", marker, s, want)
		}
	}
	if n := metricValue(t, a.base, "hookscope_caplog_corrupt_frames_total"); n < 1 {
		t.Errorf("corrupt frames counted: %v", n)
	}
	if n := metricValue(t, a.base, "hookscope_caplog_torn_truncations_total"); n < 1 {
		t.Errorf("torn truncations counted: %v", n)
	}
}

// TestLogSettings: HOOKSCOPE_ACK and HOOKSCOPE_LOG_MAX_BYTES are read,
// defaulted and checked; the removed spool setting no longer exists.
func TestLogSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := parseConfig("x", nil, env(nil), io.Discard)
	if err != nil || c.Ack != "durable" || c.LogMaxBytes != 1<<30 {
		t.Fatalf("defaults: %q %d %v", c.Ack, c.LogMaxBytes, err)
	}
	c, err = parseConfig("x", nil, env(map[string]string{"HOOKSCOPE_ACK": "fast", "HOOKSCOPE_LOG_MAX_BYTES": "2097152"}), io.Discard)
	if err != nil || c.Ack != "fast" || c.LogMaxBytes != 2<<20 {
		t.Fatalf("set: %q %d %v", c.Ack, c.LogMaxBytes, err)
	}
	for _, bad := range []map[string]string{{"HOOKSCOPE_ACK": "sometimes"}, {"HOOKSCOPE_LOG_MAX_BYTES": "1000"}, {"HOOKSCOPE_LOG_MAX_BYTES": "x"}} {
		if _, err := parseConfig("x", nil, env(bad), io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parseConfig("x", []string{"-spool-max-bytes", "1048576"}, env(nil), io.Discard); err == nil {
		t.Error("-spool-max-bytes still accepted")
	}
}
