package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testApp is a real hookscope on 127.0.0.1:0 with its own data dir.
type testApp struct {
	*App
	base string
	dir  string
}

func startApp(t *testing.T, dir string, env map[string]string) *testApp {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "HOOKSCOPE_ADDR":
			return "127.0.0.1:0"
		case "HOOKSCOPE_DATA_DIR":
			return dir
		case "HOOKSCOPE_FLUSH_INTERVAL":
			return "5ms"
		case "HOOKSCOPE_RATE_PER_IP":
			return "0" // tests send thousands of requests from 127.0.0.1; limits_test sets its own
		case "HOOKSCOPE_QUOTAS":
			return "open" // likewise; quota_test and hostile_test set their own
		}
		return ""
	}
	cfg, err := parseConfig("hookscope", nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := NewApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	ta := &testApp{App: app, base: "http://" + app.Addr(), dir: dir}
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

func (a *testApp) stop(t *testing.T) {
	if a.App == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	a.App = nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func doJSON(t *testing.T, method, u string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, u, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
}

type binResp struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	URL          string     `json:"url"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	RequestCount *int64     `json:"request_count"`
	Token        string     `json:"token"` // the owner token (create)
	Settings     struct {
		Signature *struct {
			Scheme     string `json:"scheme"`
			SecretHint string `json:"secret_hint"`
			Secret     string `json:"secret"`
		} `json:"signature"`
	} `json:"settings"`
}

type reqResp struct {
	ID             string      `json:"id"`
	BinID          string      `json:"bin_id"`
	ReceivedAt     time.Time   `json:"received_at"`
	Method         string      `json:"method"`
	Path           string      `json:"path"`
	Query          string      `json:"query"`
	Headers        [][2]string `json:"headers"`
	RemoteIP       string      `json:"remote_ip"`
	ContentType    string      `json:"content_type"`
	BodySize       int64       `json:"body_size"`
	BodyTruncated  bool        `json:"body_truncated"`
	BodyPreview    *string     `json:"body_preview"`
	ResponseStatus int         `json:"response_status"`
	LatencyUS      int64       `json:"latency_us"`
	Signature      struct {
		Scheme string `json:"scheme"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"signature"`
	DeliveryLagMS *int64 `json:"delivery_lag_ms"`
	Body          *struct {
		Encoding string `json:"encoding"`
		Data     string `json:"data"`
	} `json:"body"`
}

type listResp struct {
	Requests []reqResp `json:"requests"`
	Next     *string   `json:"next"`
}

func (a *testApp) newBin(t *testing.T, body any) binResp {
	t.Helper()
	var b binResp
	doJSON(t, "POST", a.base+"/api/v1/bins", body, 201, &b)
	return b
}

func (a *testApp) list(t *testing.T, bin, params string) listResp {
	t.Helper()
	var l listResp
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests?"+params, nil, 200, &l)
	return l
}

// waitCount polls until the bin lists n requests (writes are batched off
// the request path, so they become readable a few milliseconds later).
func (a *testApp) waitCount(t *testing.T, bin string, n int) listResp {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := a.list(t, bin, "limit=1000")
		if len(l.Requests) == n {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("bin %s has %d requests, want %d", bin, len(l.Requests), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawRequest writes bytes on a fresh TCP connection and returns the status
// line and the response.
func rawRequest(t *testing.T, addr string, raw []byte) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	// The method matters: a HEAD answer has a Content-Length but no body.
	method, _, _ := strings.Cut(string(raw), " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func TestCaptureRecordsEverythingExactly(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, map[string]any{"name": "exact"})
	if !strings.HasSuffix(bin.URL, "/h/"+bin.ID) {
		t.Fatalf("bin url %q", bin.URL)
	}

	body := []byte{0x00, 0xff, 0xfe, 'h', 'i', 0x80, '\n', 0xc3, 0x28} // binary, invalid UTF-8
	raw := fmt.Sprintf("POST /h/%s/stripe/events?x=1&y=%%20z HTTP/1.1\r\nHost: example.test\r\nX-Dup: one\r\nx-lower: MiXeD\r\nX-Dup: two\r\nContent-Type: application/octet-stream\r\nX-Hostile: <script>alert(1)</script>\r\nContent-Length: %d\r\n\r\n", bin.ID, len(body))
	resp := rawRequest(t, a.Addr(), append([]byte(raw), body...))
	if resp.StatusCode != 200 {
		t.Fatalf("capture status %d", resp.StatusCode)
	}
	var ack struct {
		OK        bool   `json:"ok"`
		RequestID string `json:"request_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ack); err != nil || !ack.OK || ack.RequestID == "" {
		t.Fatalf("ack %+v %v", ack, err)
	}
	if resp.Header.Get("X-Hookscope-Request-Id") != ack.RequestID {
		t.Fatalf("X-Hookscope-Request-Id %q != %q", resp.Header.Get("X-Hookscope-Request-Id"), ack.RequestID)
	}

	a.waitCount(t, bin.ID, 1)
	var full reqResp
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+ack.RequestID, nil, 200, &full)
	if full.Method != "POST" || full.Path != "/stripe/events" || full.Query != "x=1&y=%20z" {
		t.Errorf("method/path/query = %q %q %q", full.Method, full.Path, full.Query)
	}
	wantHeaders := [][2]string{{"Host", "example.test"}, {"X-Dup", "one"}, {"x-lower", "MiXeD"}, {"X-Dup", "two"},
		{"Content-Type", "application/octet-stream"}, {"X-Hostile", "<script>alert(1)</script>"}, {"Content-Length", fmt.Sprint(len(body))}}
	if fmt.Sprint(full.Headers) != fmt.Sprint(wantHeaders) {
		t.Errorf("headers\n got %v\nwant %v", full.Headers, wantHeaders)
	}
	if full.RemoteIP != "127.0.0.1" || full.ContentType != "application/octet-stream" || full.BodySize != int64(len(body)) || full.BodyTruncated {
		t.Errorf("ip/ct/size/trunc = %q %q %d %v", full.RemoteIP, full.ContentType, full.BodySize, full.BodyTruncated)
	}
	if full.ResponseStatus != 200 || full.LatencyUS < 0 || full.Signature.Status != "unchecked" {
		t.Errorf("status/latency/sig = %d %d %q", full.ResponseStatus, full.LatencyUS, full.Signature.Status)
	}
	if full.Body == nil || full.Body.Encoding != "base64" {
		t.Fatalf("body %+v, want base64", full.Body)
	}
	if got, _ := base64.StdEncoding.DecodeString(full.Body.Data); !bytes.Equal(got, body) {
		t.Errorf("body round trip: got %x want %x", got, body)
	}
	if time.Since(full.ReceivedAt) > time.Minute || full.ReceivedAt.Location() != time.UTC {
		t.Errorf("received_at %v", full.ReceivedAt)
	}

	// The raw endpoint returns the exact bytes with the original type, sandboxed.
	r, err := http.Get(a.base + "/api/v1/bins/" + bin.ID + "/requests/" + ack.RequestID + "/body")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !bytes.Equal(got, body) || r.Header.Get("Content-Type") != "application/octet-stream" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("raw body %x ct %q csp %q", got, r.Header.Get("Content-Type"), r.Header.Get("Content-Security-Policy"))
	}
}

func TestCaptureEveryMethod(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil)
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "FOO-BAR"}
	for _, m := range methods {
		raw := fmt.Sprintf("%s /h/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", m, bin.ID)
		resp := rawRequest(t, a.Addr(), []byte(raw))
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", m, resp.StatusCode)
		}
	}
	l := a.waitCount(t, bin.ID, len(methods))
	seen := map[string]bool{}
	for _, r := range l.Requests {
		seen[r.Method] = true
		if r.Path != "/" {
			t.Errorf("%s path %q, want /", r.Method, r.Path)
		}
	}
	for _, m := range methods {
		if !seen[m] {
			t.Errorf("method %s not recorded", m)
		}
	}
	// Newest first.
	if l.Requests[0].Method != "FOO-BAR" {
		t.Errorf("first listed %s, want the newest (FOO-BAR)", l.Requests[0].Method)
	}
}

func TestOversizeBodyRecordedTruncatedAnd413(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_MAX_BODY_BYTES": "1024"})
	bin := a.newBin(t, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes
	for _, chunked := range []bool{false, true} {
		req, _ := http.NewRequest("POST", a.base+"/h/"+bin.ID+"/big", bytes.NewReader(big))
		if chunked {
			req.ContentLength = -1 // Transfer-Encoding: chunked
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(b), "error") {
			t.Fatalf("chunked=%v: status %d %s", chunked, resp.StatusCode, b)
		}
	}
	l := a.waitCount(t, bin.ID, 2)
	for _, s := range l.Requests {
		if !s.BodyTruncated || s.BodySize != int64(len(big)) || s.ResponseStatus != 413 {
			t.Errorf("truncated=%v size=%d status=%d", s.BodyTruncated, s.BodySize, s.ResponseStatus)
		}
		var full reqResp
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+s.ID, nil, 200, &full)
		if full.Body.Data != string(big[:1024]) {
			t.Errorf("stored %d bytes, want the first 1024", len(full.Body.Data))
		}
	}
	// The connection stays usable and small bodies still work.
	resp, err := http.Post(a.base+"/h/"+bin.ID, "text/plain", strings.NewReader("small"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("small after big: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestUnknownBinIs404AndRecordsNothing(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	for _, p := range []string{"/h/does-not-exist", "/h/does-not-exist/x", "/h/%3Cscript%3E", "/h/"} {
		resp, err := http.Post(a.base+p, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 404 || e.Error == "" {
			t.Errorf("%s: %d %q", p, resp.StatusCode, e.Error)
		}
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/does-not-exist/requests", nil, 404, nil)
	// An expired bin behaves like an unknown one.
	bin := a.newBin(t, map[string]any{"expires_in": "1m"})
	a.InjectNow(time.Now().Add(2 * time.Minute))
	resp, err := http.Post(a.base+"/h/"+bin.ID, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("expired bin capture = %d, want 404", resp.StatusCode)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, map[string]string{"HOOKSCOPE_FLUSH_INTERVAL": "1h"}) // only shutdown flushes
	bin := a.newBin(t, map[string]any{"name": "durable", "expires_in": nil})
	var ids []string
	for i := range 20 {
		resp, err := http.Post(a.base+"/h/"+bin.ID+"/n", "application/json", strings.NewReader(fmt.Sprintf(`{"i":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.Header.Get("X-Hookscope-Request-Id"))
		resp.Body.Close()
	}
	a.stop(t) // SIGTERM path: flushes what was answered

	b := startApp(t, dir, nil)
	var got binResp
	doJSON(t, "GET", b.base+"/api/v1/bins/"+bin.ID, nil, 200, &got)
	if got.Name != "durable" || got.ExpiresAt != nil || got.RequestCount == nil || *got.RequestCount != 20 {
		t.Fatalf("after restart: %+v count=%v", got, got.RequestCount)
	}
	l := b.list(t, bin.ID, "")
	for i, r := range l.Requests { // newest first
		if r.ID != ids[len(ids)-1-i] {
			t.Fatalf("request %d is %s, want %s", i, r.ID, ids[len(ids)-1-i])
		}
	}
}

func TestCursorPagingUnderConcurrentWrites(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil)
	const before = 300
	send := func(i int) {
		resp, err := http.Post(a.base+"/h/"+bin.ID, "text/plain", strings.NewReader(fmt.Sprint(i)))
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < before; i += 4 {
				send(i)
			}
		}()
	}
	wg.Wait()
	a.waitCount(t, bin.ID, before)

	// Page through while more requests keep arriving: every request that
	// existed when paging began is seen exactly once, in strict order.
	stop := make(chan struct{})
	var writers sync.WaitGroup
	writers.Add(1)
	go func() {
		defer writers.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				send(10_000 + i)
			}
		}
	}()
	seen := map[string]bool{}
	var last time.Time
	cursor := ""
	pages := 0
	for {
		l := a.list(t, bin.ID, "limit=7&before="+url.QueryEscape(cursor))
		if pages == 0 {
			cursor = "" // the first page may include new arrivals; that's fine
		}
		for _, r := range l.Requests {
			if seen[r.ID] {
				t.Fatalf("duplicate %s on page %d", r.ID, pages)
			}
			if !last.IsZero() && !r.ReceivedAt.Before(last) {
				t.Fatalf("order broken at %s", r.ID)
			}
			last = r.ReceivedAt
			seen[r.ID] = true
		}
		pages++
		if l.Next == nil {
			break
		}
		cursor = *l.Next
	}
	close(stop)
	writers.Wait()
	if len(seen) < before {
		t.Fatalf("saw %d requests, want at least %d (gap)", len(seen), before)
	}
	// Gaps: every id in the final listing older than the first page's oldest
	// must have been seen.
	all := a.list(t, bin.ID, "limit=1000")
	for _, r := range all.Requests {
		if r.ReceivedAt.Before(last) && !seen[r.ID] {
			t.Fatalf("gap: %s never paged", r.ID)
		}
	}
}

func TestFiltersAndBadParams(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, map[string]any{"response": map[string]any{"rules": []any{
		map[string]any{"path_prefix": "/fail", "status": 503, "body": "down"},
		map[string]any{"method": "DELETE", "status": 404},
	}}})
	post := func(method, path, body string, hdr ...string) {
		req, _ := http.NewRequest(method, a.base+"/h/"+bin.ID+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post("POST", "/ok", `{"event":"invoice.paid"}`)
	post("PUT", "/fail/1", `nothing`, "X-Event-Name", "Charge.Refunded")
	post("DELETE", "/x", ``)
	post("POST", "/search", `needle in BODY`, "X-Other", "v")
	a.waitCount(t, bin.ID, 4)
	mid := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	post("GET", "/late", ``)
	a.waitCount(t, bin.ID, 5)

	cases := []struct {
		params string
		paths  []string
	}{
		{"method=put", []string{"/fail/1"}},
		{"status=503", []string{"/fail/1"}},
		{"status=4xx", []string{"/x"}},
		{"status=2xx", []string{"/late", "/search", "/ok"}},
		{"ip=127.0.0.1&method=GET", []string{"/late"}},
		{"ip=10.0.0.1", nil},
		{"q=INVOICE", []string{"/ok"}},             // body
		{"q=charge.refunded", []string{"/fail/1"}}, // header value
		{"q=x-other", []string{"/search"}},         // header name
		{"q=SEARCH", []string{"/search"}},          // path
		{"until=" + mid.Format(time.RFC3339Nano), []string{"/search", "/x", "/fail/1", "/ok"}},
		{"since=" + mid.Format(time.RFC3339Nano), []string{"/late"}},
		{"signature=unchecked&limit=2", []string{"/late", "/search"}},
		{"signature=valid", nil},
	}
	for _, c := range cases {
		l := a.list(t, bin.ID, c.params)
		var got []string
		for _, r := range l.Requests {
			got = append(got, r.Path)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.paths) {
			t.Errorf("%s: got %v want %v", c.params, got, c.paths)
		}
	}
	for _, bad := range []string{"limit=0", "limit=1001", "limit=x", "status=99", "status=6xx", "ip=nope", "since=yesterday", "signature=maybe", "before=!!", "method=GE%20T"} {
		var e struct {
			Error string `json:"error"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests?"+bad, nil, 400, &e)
		param := strings.SplitN(bad, "=", 2)[0]
		if !strings.Contains(e.Error, param) {
			t.Errorf("%s: error %q does not name the parameter", bad, e.Error)
		}
	}
}

func TestStatsEndpoint(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, map[string]any{"response": map[string]any{"rules": []any{map[string]any{"method": "PUT", "status": 500}}}})
	for i := range 10 {
		m := "POST"
		if i%5 == 0 {
			m = "PUT"
		}
		req, _ := http.NewRequest(m, a.base+"/h/"+bin.ID, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	a.waitCount(t, bin.ID, 10)
	var st struct {
		Total     int64            `json:"total"`
		ByStatus  map[string]int64 `json:"by_status"`
		ByMethod  map[string]int64 `json:"by_method"`
		LatencyUS struct{ P50, P95, P99 int64 }
		Series    []struct {
			T     time.Time `json:"t"`
			Count int64     `json:"count"`
		} `json:"series"`
		TopSenders []struct {
			IP    string `json:"ip"`
			Count int64  `json:"count"`
		} `json:"top_senders"`
	}
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/stats?step=1m&since="+since, nil, 200, &st)
	if st.Total != 10 || st.ByStatus["200"] != 8 || st.ByStatus["500"] != 2 || st.ByMethod["PUT"] != 2 || st.ByMethod["POST"] != 8 {
		t.Errorf("stats %+v", st)
	}
	if len(st.TopSenders) != 1 || st.TopSenders[0].IP != "127.0.0.1" || st.TopSenders[0].Count != 10 {
		t.Errorf("top senders %+v", st.TopSenders)
	}
	var sum int64
	for _, p := range st.Series {
		sum += p.Count
	}
	if sum != 10 || len(st.Series) < 60 {
		t.Errorf("series has %d points summing to %d; want >= 60 points (gap-filled) summing to 10", len(st.Series), sum)
	}
	if st.LatencyUS.P50 > st.LatencyUS.P95 || st.LatencyUS.P95 > st.LatencyUS.P99 {
		t.Errorf("percentiles not ordered: %+v", st.LatencyUS)
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/stats?step=0s", nil, 400, nil)
}

func TestBinLifecycle(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_PUBLIC_URL": "https://hooks.example.com/"})
	bin := a.newBin(t, map[string]any{"name": "x", "expires_in": "24h"})
	if bin.URL != "https://hooks.example.com/h/"+bin.ID {
		t.Errorf("url %q", bin.URL)
	}
	if bin.ExpiresAt == nil || bin.ExpiresAt.Sub(bin.CreatedAt) != 24*time.Hour {
		t.Errorf("expires_at %v created_at %v", bin.ExpiresAt, bin.CreatedAt)
	}
	def := a.newBin(t, nil)
	if def.ExpiresAt == nil || def.ExpiresAt.Sub(def.CreatedAt) != 7*24*time.Hour {
		t.Errorf("default expiry %v", def.ExpiresAt)
	}
	var p binResp
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"name": "renamed", "expires_in": nil}, 200, &p)
	if p.Name != "renamed" || p.ExpiresAt != nil {
		t.Errorf("patched %+v", p)
	}
	for _, bad := range []map[string]any{{"expires_in": "soon"}, {"nope": 1}, {"response": map[string]any{"status": 42}}, {"forward": map[string]any{"url": "ftp://x"}}} {
		doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, bad, 400, nil)
	}
	resp, _ := http.Post(a.base+"/h/"+bin.ID, "text/plain", strings.NewReader("x"))
	resp.Body.Close()
	a.waitCount(t, bin.ID, 1)
	doJSONAuth(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests", bin.Token, nil, 204, nil)
	a.waitCount(t, bin.ID, 0)
	doJSONAuth(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID, bin.Token, nil, 204, nil)
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID, nil, 404, nil)
	resp, _ = http.Post(a.base+"/h/"+bin.ID, "text/plain", strings.NewReader("x"))
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("capture into deleted bin = %d", resp.StatusCode)
	}
}

func TestHealthOpenAPIAndSecurityHeaders(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	for _, p := range []string{"/healthz", "/api/v1/openapi.yaml", "/", "/bins/abc/requests/def", "/metrics"} {
		resp, err := http.Get(a.base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", p)
		}
		if p == "/api/v1/openapi.yaml" && !bytes.Contains(b, []byte("/api/v1/bins/{bin}/requests")) {
			t.Errorf("openapi does not describe the requests list")
		}
		if p == "/metrics" && !bytes.Contains(b, []byte("hookscope_writer_queue_depth")) {
			t.Errorf("metrics lack the writer queue depth")
		}
	}
}

func TestHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, &out)
	if err == nil {
		t.Fatal("want flag.ErrHelp")
	}
	for _, env := range []string{"HOOKSCOPE_ADDR", "HOOKSCOPE_DATA_DIR", "HOOKSCOPE_PUBLIC_URL", "HOOKSCOPE_MAX_BODY_BYTES", "HOOKSCOPE_LOG_LEVEL", "HOOKSCOPE_CLICKHOUSE_URL"} {
		if !strings.Contains(out.String(), env) {
			t.Errorf("--help does not mention %s", env)
		}
	}
	if _, err := parseConfig("x", []string{"-max-body-bytes", "-1"}, os.Getenv, io.Discard); err == nil {
		t.Error("negative body limit accepted")
	}
}

// InjectNow moves the app's clock (bin expiry, purge) to t.
func (a *App) InjectNow(t time.Time) { a.clock.override.Store(&t) }

func TestLinkBase(t *testing.T) {
	for _, c := range []struct{ public, addr, want string }{
		{"https://hooks.example.com", ":8080", "https://hooks.example.com"},
		{"", ":8080", "http://localhost:8080"},
		{"", "0.0.0.0:9000", "http://localhost:9000"},
		{"", "127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"", "[::1]:8082", "http://[::1]:8082"},
	} {
		if got := linkBase(Config{PublicURL: c.public, Addr: c.addr}); got != c.want {
			t.Errorf("linkBase(%q, %q) = %q, want %q", c.public, c.addr, got, c.want)
		}
	}
}
