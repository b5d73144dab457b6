package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/export"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// Export (issue 17.5) through the real API on both stores.

// fillRows writes n requests straight through the store's batch writer
// (fast: no capture path), oldest first, one second apart from base. Every
// 97th row has a formula-like path and header and a 4 KiB body (longer than
// the list's preview, so the export reads it in full); every 101st is a POST.
func fillRows(t *testing.T, st schema.Writer, bin string, n int, base time.Time) {
	t.Helper()
	const batch = 5000
	big := strings.Repeat("0123456789abcdef", 256)
	reqs := make([]*schema.Request, 0, batch)
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(i) * time.Millisecond)
		// A UUIDv7 carrying the request's own time, as capture mints them
		// (stores find a request by the time in its id).
		id, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		ms := uint64(at.UnixMilli())
		for k := 0; k < 6; k++ {
			id[k] = byte(ms >> (40 - 8*k))
		}
		r := &schema.Request{
			ID: id, BinID: bin, ReceivedAt: schema.Truncate(at), Method: "GET", Path: "/p/" + strconv.Itoa(i),
			Query: "i=" + strconv.Itoa(i) + "&x=a%20b", RemoteIP: "203.0.113.7", ContentType: "application/json",
			Headers:        []schema.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Row", Value: strconv.Itoa(i)}},
			ResponseStatus: 200, LatencyUS: 150, Signature: schema.Signature{Status: schema.SigUnchecked},
		}
		r.Body = []byte(`{"row":` + strconv.Itoa(i) + `,"text":"a \"quoted\", comma\nline"}`)
		if i%101 == 0 {
			r.Method = "POST"
		}
		if i%97 == 0 {
			r.Query = "=cmd|' /C calc'!A0"
			r.Headers = append(r.Headers, schema.Header{Name: "X-Evil", Value: "@SUM(1+1)"})
			r.Body = []byte(`{"row":` + strconv.Itoa(i) + `,"big":"` + big + `"}`)
		}
		r.BodySize = int64(len(r.Body))
		reqs = append(reqs, r)
		if len(reqs) == batch || i == n-1 {
			if err := st.WriteRequests(t.Context(), reqs); err != nil {
				t.Fatalf("WriteRequests: %v", err)
			}
			reqs = reqs[:0]
		}
	}
}

// memWatch samples the heap and the process RSS while an export runs.
// HeapAlloc counts garbage too, which with the default GOGC may reach twice
// the live heap before a collection: the heap's growth would measure the
// GC's headroom (~70 MB here), not what the export keeps. So the GC runs at
// GOGC=10 while it watches: the samples are then within ~10 % of the base
// heap of what is really live.
type memWatch struct {
	baseHeap, peakHeap uint64
	peakRSS            int64
	stop               chan struct{}
	wg                 sync.WaitGroup
	gcPercent          int
}

func watchMem() *memWatch {
	gcPercent := debug.SetGCPercent(10)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &memWatch{baseHeap: ms.HeapAlloc, peakHeap: ms.HeapAlloc, peakRSS: rssKB(), stop: make(chan struct{}), gcPercent: gcPercent}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			w.peakHeap = max(w.peakHeap, ms.HeapAlloc)
			w.peakRSS = max(w.peakRSS, rssKB())
		}
	}()
	return w
}

func (w *memWatch) done() { close(w.stop); w.wg.Wait(); debug.SetGCPercent(w.gcPercent) }

// rssKB is this process's resident set (VmRSS) in KiB.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// getExport opens an export and checks its headers.
func getExport(t *testing.T, a *testApp, bin, params string) *http.Response {
	t.Helper()
	resp, err := http.Get(a.base + "/api/v1/bins/" + bin + "/export?" + params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("export %s = %d %s", params, resp.StatusCode, b)
	}
	cd := resp.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, `attachment; filename="hookscope-`+bin+"-") || strings.ContainsAny(strings.TrimPrefix(cd, `attachment; filename="`)[:len(cd)-len(`attachment; filename="`)-1], `"/\`) {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	return resp
}

// exportRow is what the checks read of one exported row, in any format.
type exportRow struct {
	id, method, path, query, body string
	xEvil                         string
}

// readExport streams an export and calls each for every row, never
// holding the whole file.
func readExport(t *testing.T, format export.Format, r io.Reader, each func(exportRow)) {
	t.Helper()
	switch format {
	case export.NDJSON:
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var v struct {
				ID      string      `json:"id"`
				Method  string      `json:"method"`
				Path    string      `json:"path"`
				Query   string      `json:"query"`
				Headers [][2]string `json:"headers"`
				Body    struct{ Data string }
				Error   string `json:"error"`
			}
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("ndjson line %q: %v", sc.Text(), err)
			}
			if v.Error != "" {
				t.Fatalf("export ended with an error: %s", v.Error)
			}
			row := exportRow{id: v.ID, method: v.Method, path: v.Path, query: v.Query, body: v.Body.Data}
			for _, h := range v.Headers {
				if h[0] == "X-Evil" {
					row.xEvil = h[1]
				}
			}
			each(row)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	case export.CSV:
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		head, err := cr.Read()
		if err != nil || strings.Join(head, ",") != strings.Join(export.CSVColumns, ",") {
			t.Fatalf("csv header = %v, %v", head, err)
		}
		col := map[string]int{}
		for i, c := range head {
			col[c] = i
		}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("csv: %v", err)
			}
			var hs [][2]string
			if err := json.Unmarshal([]byte(rec[col["headers"]]), &hs); err != nil {
				t.Fatalf("csv headers cell %q: %v", rec[col["headers"]], err)
			}
			row := exportRow{id: rec[col["id"]], method: rec[col["method"]], path: rec[col["path"]], query: rec[col["query"]], body: rec[col["body"]]}
			for _, h := range hs {
				if h[0] == "X-Evil" {
					row.xEvil = h[1]
				}
			}
			each(row)
		}
	case export.HAR:
		dec := json.NewDecoder(r)
		want := []string{"{", "log", "{", "version", "1.2", "creator"}
		for _, w := range want {
			tok, err := dec.Token()
			if err != nil || fmt.Sprint(tok) != w {
				t.Fatalf("har head: got %v (%v), want %q", tok, err, w)
			}
		}
		var creator map[string]string
		if err := dec.Decode(&creator); err != nil || creator["name"] != "hookscope" {
			t.Fatalf("har creator = %v, %v", creator, err)
		}
		for _, w := range []string{"entries", "["} {
			if tok, err := dec.Token(); err != nil || fmt.Sprint(tok) != w {
				t.Fatalf("har: got %v (%v), want %q", tok, err, w)
			}
		}
		for dec.More() {
			var e struct {
				ID      string `json:"_id"`
				Request struct {
					Method   string `json:"method"`
					URL      string `json:"url"`
					Headers  []struct{ Name, Value string }
					PostData *struct{ Text string }
				} `json:"request"`
				Response struct {
					Status int `json:"status"`
				} `json:"response"`
			}
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("har entry: %v", err)
			}
			if e.Response.Status != 200 {
				t.Fatalf("har entry %s response status %d", e.ID, e.Response.Status)
			}
			_, path, _ := strings.Cut(e.Request.URL, "/h/")
			_, path, _ = strings.Cut(path, "/")
			path, query, _ := strings.Cut("/"+path, "?")
			row := exportRow{id: e.ID, method: e.Request.Method, path: path, query: query}
			if e.Request.PostData != nil {
				row.body = e.Request.PostData.Text
			}
			for _, h := range e.Request.Headers {
				if h.Name == "X-Evil" {
					row.xEvil = h.Value
				}
			}
			each(row)
		}
		for _, w := range []string{"]", "}", "}"} {
			if tok, err := dec.Token(); err != nil || fmt.Sprint(tok) != w {
				t.Fatalf("har tail: got %v (%v), want %q", tok, err, w)
			}
		}
	}
}

// exportRows is the row count of the big export: a million, scaled down
// under -race and -short (scripts/test.sh runs the full size without -race).
func exportRows() int {
	if testing.Short() || raceEnabled {
		return 10_000
	}
	return 1_000_000
}

// TestExportMillionRows fills a bin of the embedded store with a million
// rows and exports it in each format through the API, reading every row on
// the client side and measuring the process's live heap and RSS during the
// export: the export pages through the store, so the heap must not grow
// with the row count (bound: 64 MiB over the baseline; the rows
// themselves are ~300 MB of NDJSON).
func TestExportMillionRows(t *testing.T) {
	testExportMany(t, startApp(t, t.TempDir(), nil), exportRows())
}

// TestExportManyRowsClickHouse: the same on both ClickHouse servers with
// 20 000 rows (the store pages the same way; a million rows there only
// costs the test time).
func TestExportManyRowsClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		n := 20_000
		if raceEnabled {
			n = 3_000
		}
		testExportMany(t, startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)}), n)
	})
}

func testExportMany(t *testing.T, a *testApp, n int) {
	bin := a.newBin(t, map[string]any{}).ID
	start := time.Now()
	fillRows(t, a.store, bin, n, time.Now().Add(-2*time.Hour))
	t.Logf("filled %d rows in %s", n, time.Since(start).Round(time.Millisecond))

	for _, format := range export.Formats {
		t.Run(string(format), func(t *testing.T) {
			mw := watchMem()
			began := time.Now()
			resp := getExport(t, a, bin, "format="+string(format))
			defer resp.Body.Close()
			var rows, evil, big, posts int
			var bytesRead atomic.Int64
			readExport(t, format, countingReader{resp.Body, &bytesRead}, func(r exportRow) {
				rows++
				if r.method == "POST" {
					posts++
				}
				if r.xEvil != "" {
					evil++
					// CSV defuses the formula cell; the headers cell is
					// JSON (it starts with '['), so X-Evil stays as sent.
					wantQuery := "=cmd|' /C calc'!A0"
					if format == export.CSV {
						wantQuery = "'" + wantQuery
					}
					if r.query != wantQuery || r.xEvil != "@SUM(1+1)" {
						t.Fatalf("row %s: query %q x-evil %q; want %q %q", r.id, r.query, r.xEvil, wantQuery, "@SUM(1+1)")
					}
					if len(r.body) > 4096 {
						big++
					}
				}
			})
			resp.Body.Close()
			mw.done()
			growth := int64(mw.peakHeap) - int64(mw.baseHeap)
			t.Logf("%s: %d rows, %d MB in %s; live heap %d MB -> peak %d MB (growth %d MB); peak RSS %d MB",
				format, rows, bytesRead.Load()>>20, time.Since(began).Round(time.Millisecond),
				mw.baseHeap>>20, mw.peakHeap>>20, growth>>20, mw.peakRSS>>10)
			wantEvil := (n + 96) / 97
			if rows != n || evil != wantEvil || big != wantEvil || posts != (n+100)/101 {
				t.Fatalf("%s: %d rows (%d formula rows, %d full bodies, %d POST); want %d (%d, %d, %d)",
					format, rows, evil, big, posts, n, wantEvil, wantEvil, (n+100)/101)
			}
			if growth > 64<<20 {
				t.Fatalf("%s: live heap grew %d MB during the export; want < 64 MB", format, growth>>20)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestExportFiltersEmbedded(t *testing.T) {
	testExportFilters(t, startApp(t, t.TempDir(), nil))
}

func TestExportFiltersClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testExportFilters(t, startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)}))
	})
}

// testExportFilters: captured requests (through capture, so the store
// writer and both stores' readers are exercised) come out of every format
// with the list's filters applied, bodies in full (a 20 KB body is past
// the list's preview), binary bodies intact; a private bin needs its token;
// a bad format or parameter is a 400 naming it.
func testExportFilters(t *testing.T, a *testApp) {
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
	big := strings.Repeat("x", 20_000)
	ids := map[string]string{}
	ids["post"] = sendRaw(t, a, bin.ID, "POST", "/hook", "a=1", [][2]string{{"Content-Type", "application/json"}}, []byte(`{"big":"`+big+`"}`))
	ids["get"] = sendRaw(t, a, bin.ID, "GET", "/", "", nil, nil)
	ids["put"] = sendRaw(t, a, bin.ID, "PUT", "/bin", "", [][2]string{{"Content-Type", "application/octet-stream"}}, []byte{0, 0xff, 0xfe, '='})
	tok := "token=" + bin.Token
	deadline := time.Now().Add(10 * time.Second)
	for {
		var l listResp
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests?"+tok, nil, 200, &l)
		if len(l.Requests) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %d of 3 requests", len(l.Requests))
		}
		time.Sleep(20 * time.Millisecond)
	}

	if status, _, body := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/export?format=csv", nil, ""); status != 401 {
		t.Fatalf("export of a private bin without token = %d %s; want 401", status, body)
	}
	for _, tc := range []struct{ params, param string }{
		{"format=xml", "format"}, {"format=csv&limit=5", "limit"}, {"format=csv&method=G%20T", "method"}, {"status=99", "status"}, {"forward=lost", "forward"},
	} {
		status, _, body := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/export?"+tok+"&"+tc.params, nil, "")
		if status != 400 || !strings.Contains(string(body), tc.param) {
			t.Fatalf("export?%s = %d %s; want 400 naming %s", tc.params, status, body, tc.param)
		}
	}

	for _, format := range export.Formats {
		for _, tc := range []struct {
			params string
			want   []string
		}{
			{"", []string{"put", "get", "post"}}, // newest first, like the list
			{"method=POST", []string{"post"}},
			{"q=bin", []string{"put"}},
			{"q=" + url.QueryEscape("method:PUT OR method:GET"), []string{"put", "get"}}, // the list's search syntax
		} {
			resp := getExport(t, a, bin.ID, tok+"&format="+string(format)+"&"+tc.params)
			var got []string
			readExport(t, format, resp.Body, func(r exportRow) {
				for k, id := range ids {
					if id == r.id {
						got = append(got, k)
						switch k {
						case "post":
							if r.body != `{"big":"`+big+`"}` {
								t.Fatalf("%s: post body is %d bytes; want the full %d", format, len(r.body), len(big)+10)
							}
						case "put":
							if r.body != "AP/+PQ==" { // base64 of 00 ff fe '='
								t.Fatalf("%s: binary body %q; want base64 AP/+PQ==", format, r.body)
							}
						}
					}
				}
			})
			resp.Body.Close()
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("%s export?%s = %v; want %v", format, tc.params, got, tc.want)
			}
		}
	}
}

// TestExportCommand: `hookscope export` streams a private bin's export to
// a file (renamed from .partial when complete) and to stdout, with the
// list's filters as flags; a bad format or a missing token is an error.
func TestExportCommand(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
	fillRows(t, a.store, bin.ID, 303, time.Now().Add(-time.Hour))
	binURL := a.base + "/h/" + bin.ID
	ctx := context.Background()
	noEnv := func(string) string { return "" }

	out := filepath.Join(t.TempDir(), "x.csv")
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"export", binURL, "-token", bin.Token, "-format", "csv", "-method", "POST", "-o", out}, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("export -o: %v\n%s", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	readExport(t, export.CSV, f, func(r exportRow) {
		rows++
		if r.method != "POST" {
			t.Fatalf("row %s method %s; want only POST", r.id, r.method)
		}
	})
	if rows != 3 { // rows 0, 101, 202
		t.Fatalf("csv export has %d rows; want 3", rows)
	}
	if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
		t.Fatalf(".partial left behind: %v", err)
	}

	stdout.Reset()
	if err := run(ctx, []string{"export", binURL, "-format", "har"}, func(k string) string {
		if k == "HOOKSCOPE_TOKEN" {
			return bin.Token
		}
		return ""
	}, &stdout, &stderr); err != nil {
		t.Fatalf("export to stdout: %v\n%s", err, stderr.String())
	}
	rows = 0
	readExport(t, export.HAR, &stdout, func(exportRow) { rows++ })
	if rows != 303 {
		t.Fatalf("har export has %d entries; want 303", rows)
	}

	if err := run(ctx, []string{"export", binURL, "-format", "xml"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "format") {
		t.Fatalf("export -format xml = %v; want a format error", err)
	}
	if err := run(ctx, []string{"export", binURL}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("export without token = %v; want 401", err)
	}
}
