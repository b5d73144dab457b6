package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/hookscope/hookscope/ingest/forward"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// call sends one request with optional headers and returns status, header
// and body.
func call(t *testing.T, method, u string, hdr map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type forwardResp struct {
	URL       string `json:"url"`
	Mode      string `json:"mode"`
	Status    int    `json:"status"`
	LatencyUS int64  `json:"latency_us"`
	Error     string `json:"error"`
}

type fullReq struct {
	reqResp
	Forward *forwardResp `json:"forward"`
}

// get fetches one full record, waiting for its batch to be written.
func (a *testApp) get(t *testing.T, bin, id string) fullReq {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+id, nil, "")
		if status == 200 {
			var r fullReq
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		if status != 404 || time.Now().After(deadline) {
			t.Fatalf("get request %s: %d %s", id, status, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCustomResponseRules(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, map[string]any{"response": map[string]any{
		"status":  201,
		"headers": [][2]string{{"Content-Type", "text/plain"}, {"X-Custom", "a"}, {"X-Custom", "b"}},
		"body":    "created",
		"rules": []map[string]any{
			{"method": "delete", "status": 405, "body": "no deletes"},
			{"path_prefix": "/slow", "status": 202, "delay_ms": 300},
			{"method": "PUT", "path_prefix": "/v2/", "status": 409, "headers": [][2]string{{"Content-Type", "application/json"}}, "body": `{"conflict":true}`},
			{"path_prefix": "/empty", "status": 204},
			{"path_prefix": "/default"}, // status 0, nothing else: the default answer
		},
	}})
	tests := []struct {
		name, method, path string
		status             int
		body               string // exact; "" with defaultJSON checks the default answer
		defaultJSON        bool
		header             [2]string
		minDelay           time.Duration
	}{
		{name: "bin response", method: "POST", path: "/x", status: 201, body: "created", header: [2]string{"Content-Type", "text/plain"}},
		{name: "method rule (case-insensitive in config)", method: "DELETE", path: "/x", status: 405, body: "no deletes"},
		{name: "path prefix rule with delay", method: "POST", path: "/slow/down", status: 202, body: "", minDelay: 300 * time.Millisecond},
		{name: "method and prefix both needed", method: "PUT", path: "/v2/items", status: 409, body: `{"conflict":true}`, header: [2]string{"Content-Type", "application/json"}},
		{name: "prefix matches but method does not", method: "POST", path: "/v2/items", status: 201, body: "created"},
		{name: "204 rule", method: "POST", path: "/empty", status: 204, body: ""},
		{name: "empty rule gives the default answer", method: "POST", path: "/default", status: 200, defaultJSON: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			status, h, body := call(t, tt.method, a.base+"/h/"+bin.ID+tt.path, nil, "payload")
			if status != tt.status {
				t.Fatalf("status %d, want %d (%s)", status, tt.status, body)
			}
			if tt.defaultJSON {
				var ack struct {
					OK        bool   `json:"ok"`
					RequestID string `json:"request_id"`
				}
				if err := json.Unmarshal(body, &ack); err != nil || !ack.OK || ack.RequestID != h.Get("X-Hookscope-Request-Id") {
					t.Fatalf("default answer %s", body)
				}
			} else if string(body) != tt.body {
				t.Fatalf("body %q, want %q", body, tt.body)
			}
			if tt.header[0] != "" && h.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s = %q, want %q", tt.header[0], h.Get(tt.header[0]), tt.header[1])
			}
			if tt.minDelay > 0 && time.Since(start) < tt.minDelay {
				t.Errorf("answered after %v, want a delay of at least %v", time.Since(start), tt.minDelay)
			}
			if h.Get("X-Hookscope-Request-Id") == "" {
				t.Error("no X-Hookscope-Request-Id")
			}
			// The record says what was answered.
			r := a.get(t, bin.ID, h.Get("X-Hookscope-Request-Id"))
			if r.ResponseStatus != tt.status {
				t.Errorf("recorded response_status %d, want %d", r.ResponseStatus, tt.status)
			}
		})
	}
	// Duplicate custom headers are both sent.
	_, h, _ := call(t, "POST", a.base+"/h/"+bin.ID+"/x", nil, "")
	if got := h.Values("X-Custom"); fmt.Sprint(got) != "[a b]" {
		t.Errorf("X-Custom = %v, want [a b]", got)
	}
	// Invalid settings are refused with the field named.
	for _, bad := range []map[string]any{
		{"delay_ms": 30001},
		{"status": 99},
		{"headers": [][2]string{{"Content-Length", "3"}}},
		{"headers": [][2]string{{"X-Bad", "a\r\nInjected: 1"}}},
		{"rules": []map[string]any{{"status": 500}}},
	} {
		var e struct {
			Error string `json:"error"`
		}
		doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"response": bad}, 400, &e)
		if !strings.HasPrefix(e.Error, "response: ") {
			t.Errorf("%v: error %q does not name the field", bad, e.Error)
		}
	}
}

// target is a local receiver standing in for the user's webhook endpoint.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
}

func newTarget(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *target {
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, r)
		tg.body = append(tg.body, b)
		tg.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) requests() ([]*http.Request, [][]byte) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]*http.Request(nil), tg.got...), append([][]byte(nil), tg.body...)
}

var allowPrivate = map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"}

func TestForwardProxyMode(t *testing.T) {
	a := startApp(t, t.TempDir(), allowPrivate)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Target", "yes")
		w.Header().Set("Keep-Alive", "timeout=1") // hop-by-hop, must not reach the sender
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.WriteHeader(418)
		io.WriteString(w, "teapot:"+r.URL.RequestURI())
	})
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL + "/base/", "mode": "proxy", "timeout": "2s"},
		"response": map[string]any{"status": 201, "body": "not used in proxy mode"}})

	req, _ := http.NewRequest("PATCH", a.base+"/h/"+bin.ID+"/events/1?a=1&a=2", strings.NewReader(`{"x":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Sender", "s1")
	req.Header.Add("X-Dup", "1")
	req.Header.Add("X-Dup", "2")
	req.Header.Set("Connection", "X-Private-Hop")
	req.Header.Set("X-Private-Hop", "must not be relayed")
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 418 || string(body) != "teapot:/base/events/1?a=1&a=2" || resp.Header.Get("X-Target") != "yes" {
		t.Fatalf("sender got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp.Header.Get("Proxy-Authenticate") != "" || strings.Contains(resp.Header.Get("Keep-Alive"), "timeout=1") {
		t.Errorf("hop-by-hop header of the target reached the sender")
	}
	got, bodies := tg.requests()
	if len(got) != 1 {
		t.Fatalf("target got %d requests", len(got))
	}
	r := got[0]
	if r.Method != "PATCH" || string(bodies[0]) != `{"x":1}` || r.Header.Get("X-Sender") != "s1" || fmt.Sprint(r.Header.Values("X-Dup")) != "[1 2]" {
		t.Errorf("target got %s %q %v", r.Method, bodies[0], r.Header)
	}
	for _, h := range []string{"X-Private-Hop", "Proxy-Authorization"} {
		if r.Header.Get(h) != "" {
			t.Errorf("hop-by-hop header %s was relayed", h)
		}
	}
	a.waitCount(t, bin.ID, 1)
	rec := a.get(t, bin.ID, resp.Header.Get("X-Hookscope-Request-Id"))
	if rec.Forward == nil || rec.Forward.Mode != "proxy" || rec.Forward.Status != 418 || rec.Forward.Error != "" ||
		rec.Forward.URL != tg.URL+"/base/events/1?a=1&a=2" || rec.ResponseStatus != 418 {
		t.Errorf("record forward %+v response_status %d", rec.Forward, rec.ResponseStatus)
	}

	// A target that times out: the sender gets 504 and the record says why.
	slow := newTarget(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) })
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"forward": map[string]any{"url": slow.URL, "mode": "proxy", "timeout": "200ms"}}, 200, nil)
	status, h, b := call(t, "POST", a.base+"/h/"+bin.ID, nil, "x")
	if status != 504 || !strings.Contains(string(b), "timeout") {
		t.Fatalf("slow target: %d %s", status, b)
	}
	a.waitCount(t, bin.ID, 2)
	rec = a.get(t, bin.ID, h.Get("X-Hookscope-Request-Id"))
	if rec.Forward == nil || rec.Forward.Status != 0 || !strings.HasPrefix(rec.Forward.Error, "timeout after 200ms") || rec.ResponseStatus != 504 {
		t.Errorf("timeout record %+v %d", rec.Forward, rec.ResponseStatus)
	}
}

func TestForwardAsyncMode(t *testing.T) {
	a := startApp(t, t.TempDir(), allowPrivate)
	release := make(chan struct{})
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(202)
	})
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL, "mode": "async"},
		"response": map[string]any{"status": 200, "body": "thanks"}})

	// The sender is answered with the bin's response while the target is
	// still holding the forwarded request.
	status, h, body := call(t, "POST", a.base+"/h/"+bin.ID+"/ok", nil, "a")
	if status != 200 || string(body) != "thanks" {
		t.Fatalf("sender got %d %q", status, body)
	}
	status2, h2, _ := call(t, "POST", a.base+"/h/"+bin.ID+"/fail", nil, "b")
	if status2 != 200 {
		t.Fatalf("second sender got %d", status2)
	}
	close(release)
	a.waitCount(t, bin.ID, 2)
	ok := a.get(t, bin.ID, h.Get("X-Hookscope-Request-Id"))
	if ok.Forward == nil || ok.Forward.Mode != "async" || ok.Forward.Status != 202 || ok.Forward.Error != "" || ok.ResponseStatus != 200 {
		t.Errorf("async ok record %+v %d", ok.Forward, ok.ResponseStatus)
	}
	fail := a.get(t, bin.ID, h2.Get("X-Hookscope-Request-Id"))
	if fail.Forward == nil || fail.Forward.Status != 503 || fail.ResponseStatus != 200 {
		t.Errorf("async failure record %+v %d", fail.Forward, fail.ResponseStatus)
	}

	// A target that does not exist: an error in the record, the sender unaffected.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"forward": map[string]any{"url": dead.URL}}, 200, nil)
	status, h, _ = call(t, "POST", a.base+"/h/"+bin.ID, nil, "c")
	if status != 200 {
		t.Fatalf("sender got %d", status)
	}
	a.waitCount(t, bin.ID, 3)
	rec := a.get(t, bin.ID, h.Get("X-Hookscope-Request-Id"))
	if rec.Forward == nil || rec.Forward.Status != 0 || !strings.Contains(rec.Forward.Error, "refused") {
		t.Errorf("dead target record %+v", rec.Forward)
	}
}

// TestAsyncForwardFinishesOnShutdown: requests answered while their forward
// is in flight are recorded by a clean shutdown.
func TestAsyncForwardFinishesOnShutdown(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, allowPrivate)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) })
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL}})
	for i := 0; i < 5; i++ {
		if s, _, _ := call(t, "POST", a.base+"/h/"+bin.ID, nil, "x"); s != 200 {
			t.Fatalf("capture %d", s)
		}
	}
	a.stop(t)
	a = startApp(t, dir, allowPrivate)
	l := a.waitCount(t, bin.ID, 5)
	for _, r := range l.Requests {
		full := a.get(t, bin.ID, r.ID)
		if full.Forward == nil || full.Forward.Status != 200 {
			t.Errorf("record %s forward %+v", r.ID, full.Forward)
		}
	}
}

func TestReplay(t *testing.T) {
	a := startApp(t, t.TempDir(), allowPrivate)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	other := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	bin := a.newBin(t, nil)
	status, h, _ := call(t, "PUT", a.base+"/h/"+bin.ID+"/orders/7?v=2", map[string]string{"X-Signature": "abc", "Content-Type": "text/plain"}, "order body")
	if status != 200 {
		t.Fatal(status)
	}
	orig := h.Get("X-Hookscope-Request-Id")
	a.waitCount(t, bin.ID, 1)

	// No forward target and no url: 400 naming the parameter.
	var e struct{ Error string }
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+orig+"/replay", bin.Token, map[string]any{}, 400, &e)
	if !strings.HasPrefix(e.Error, "url") {
		t.Errorf("error %q", e.Error)
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/00000000-0000-7000-8000-000000000000/replay", bin.Token, map[string]any{"url": tg.URL}, 404, nil)
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+orig+"/replay", bin.Token, map[string]any{"url": "file:///etc/passwd"}, 400, nil)

	// To the bin's forward target: path suffix and query kept.
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"forward": map[string]any{"url": tg.URL + "/hooks"}}, 200, nil)
	var rep struct {
		ID       string       `json:"id"`
		ReplayOf string       `json:"replay_of"`
		Forward  *forwardResp `json:"forward"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+orig+"/replay", bin.Token, nil, 201, &rep)
	if rep.ReplayOf != orig || rep.Forward == nil || rep.Forward.Status != 201 || rep.Forward.Mode != "replay" || rep.Forward.URL != tg.URL+"/hooks/orders/7?v=2" {
		t.Fatalf("replay answer %+v %+v", rep, rep.Forward)
	}
	got, bodies := tg.requests()
	if len(got) != 1 || got[0].Method != "PUT" || got[0].URL.RequestURI() != "/hooks/orders/7?v=2" || string(bodies[0]) != "order body" ||
		got[0].Header.Get("X-Signature") != "abc" || got[0].Header.Get("X-Hookscope-Replay-Of") != "" {
		t.Fatalf("target got %v", got)
	}

	// To another URL, exactly as given; its failure is recorded.
	var rep2 struct {
		ID      string       `json:"id"`
		Forward *forwardResp `json:"forward"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+orig+"/replay", bin.Token, map[string]any{"url": other.URL + "/exact"}, 201, &rep2)
	if rep2.Forward.Status != 500 || rep2.Forward.URL != other.URL+"/exact" {
		t.Fatalf("replay to url %+v", rep2.Forward)
	}

	// Both replays are new requests of the bin, marked with the original id.
	a.waitCount(t, bin.ID, 3)
	for _, id := range []string{rep.ID, rep2.ID} {
		r := a.get(t, bin.ID, id)
		last := r.Headers[len(r.Headers)-1]
		if r.Method != "PUT" || r.Path != "/orders/7" || r.Query != "v=2" || r.Body.Data != "order body" ||
			last != [2]string{"X-Hookscope-Replay-Of", orig} || r.Forward == nil || r.Forward.Mode != "replay" {
			t.Errorf("replay record %+v forward %+v", r.reqResp, r.Forward)
		}
	}
	if r := a.get(t, bin.ID, rep2.ID); r.ResponseStatus != 500 {
		t.Errorf("failed replay recorded with response_status %d", r.ResponseStatus)
	}
}

// TestSSRFGuard runs with the guard ON (the default): forwarding, proxying
// and replaying to loopback or private addresses, directly, through DNS
// (localhost) or through a redirect, must never reach the target.
func TestSSRFGuard(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "internal secret") })
	port := tg.URL[strings.LastIndexByte(tg.URL, ':')+1:]
	redirector := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, tg.URL, http.StatusFound)
	})
	urls := []string{
		tg.URL,                                    // loopback literal
		"http://localhost:" + port,                // a name resolving to loopback
		"http://[::ffff:127.0.0.1]:" + port,       // IPv4-mapped
		"http://0.0.0.0:" + port,                  // unspecified reaches localhost on Linux
		"http://169.254.169.254/latest/meta-data", // metadata
		"http://10.0.0.1:" + port,                 // private
		redirector.URL,                            // redirect (the redirector itself is loopback too)
	}
	for _, u := range urls {
		t.Run(u, func(t *testing.T) {
			bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": u, "mode": "proxy", "timeout": "2s"}})
			status, h, body := call(t, "POST", a.base+"/h/"+bin.ID, nil, "x")
			if status != 502 || !strings.Contains(string(body), "SSRF guard") {
				t.Fatalf("proxy to %s: %d %s", u, status, body)
			}
			a.waitCount(t, bin.ID, 1)
			rec := a.get(t, bin.ID, h.Get("X-Hookscope-Request-Id"))
			if rec.Forward == nil || !strings.Contains(rec.Forward.Error, "blocked by the SSRF guard") {
				t.Fatalf("record %+v", rec.Forward)
			}
			// Async forwarding and replay are refused the same way.
			doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"forward": map[string]any{"url": u, "mode": "async"}}, 200, nil)
			_, h, _ = call(t, "POST", a.base+"/h/"+bin.ID, nil, "y")
			a.waitCount(t, bin.ID, 2)
			if rec := a.get(t, bin.ID, h.Get("X-Hookscope-Request-Id")); rec.Forward == nil || !strings.Contains(rec.Forward.Error, "SSRF guard") {
				t.Fatalf("async record %+v", rec.Forward)
			}
			var rep struct{ Forward *forwardResp }
			doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+h.Get("X-Hookscope-Request-Id")+"/replay", bin.Token, map[string]any{"url": u}, 201, &rep)
			if rep.Forward == nil || !strings.Contains(rep.Forward.Error, "SSRF guard") {
				t.Fatalf("replay %+v", rep.Forward)
			}
		})
	}
	if got, _ := tg.requests(); len(got) != 0 {
		t.Fatalf("the internal target was reached %d times", len(got))
	}
	if got, _ := redirector.requests(); len(got) != 0 {
		t.Fatalf("the loopback redirector was reached %d times", len(got))
	}
	// The guarded client the alert notifiers get refuses loopback too.
	if _, err := a.outbound.Get(tg.URL); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("outbound client reached loopback: %v", err)
	}
}

func TestBodyEchoedBytesExactlyThroughProxy(t *testing.T) {
	a := startApp(t, t.TempDir(), allowPrivate)
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	}))
	defer tg.Close()
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL, "mode": "proxy"}})
	payload := []byte{0, 1, 2, 0xff, 0xfe, 'x', 0xc3, 0x28}
	resp, err := http.Post(a.base+"/h/"+bin.ID, "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, payload) {
		t.Fatalf("echo %x, want %x", got, payload)
	}
}

func TestAccessSettings(t *testing.T) {
	var out bytes.Buffer
	_ = run(t.Context(), []string{"--help"}, func(string) string { return "" }, &out, &out)
	for _, env := range []string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS", "HOOKSCOPE_FORWARD_WORKERS", "HOOKSCOPE_JWT_SECRET", "HOOKSCOPE_AUTH",
		"HOOKSCOPE_RATE_PER_BIN", "HOOKSCOPE_RATE_PER_IP", "HOOKSCOPE_MAX_REQUESTS_PER_BIN", "HOOKSCOPE_MAX_HEADERS", "token]"} {
		if !strings.Contains(out.String(), env) {
			t.Errorf("--help does not mention %s", env)
		}
	}
	tests := []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{"HOOKSCOPE_RATE_PER_BIN": "2.5"}, true},
		{map[string]string{"HOOKSCOPE_RATE_PER_IP": "100/s"}, true},
		{map[string]string{"HOOKSCOPE_RATE_PER_BIN": "-1"}, false},
		{map[string]string{"HOOKSCOPE_RATE_PER_BIN": "fast"}, false},
		{map[string]string{"HOOKSCOPE_AUTH": "sometimes"}, false},
		{map[string]string{"HOOKSCOPE_JWT_SECRET": "short"}, false},
		{map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "yes please"}, false},
		{map[string]string{"HOOKSCOPE_MAX_HEADERS": "-3"}, false},
		{map[string]string{"HOOKSCOPE_FORWARD_WORKERS": "0"}, false},
	}
	for _, tt := range tests {
		_, err := parseConfig("x", nil, func(k string) string { return tt.env[k] }, io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("%v: err %v, want ok=%v", tt.env, err, tt.ok)
		}
	}
	c, err := parseConfig("x", nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.Access.RatePerBin != 0 || c.Access.RatePerIP != 1000 || c.Access.MaxHeaders != 100 || c.Access.AuthRequired || c.Access.AllowPrivateTargets {
		t.Errorf("defaults %+v %v", c.Access, err)
	}
}

// TestForwardLoopStops: a bin forwarding to its own capture URL relays a
// request MaxHops times and then records it without forwarding.
func TestForwardLoopStops(t *testing.T) {
	for _, mode := range []string{"async", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			a := startApp(t, t.TempDir(), allowPrivate)
			bin := a.newBin(t, nil)
			doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"forward": map[string]any{"url": a.base + "/h/" + bin.ID, "mode": mode}}, 200, nil)
			if s, _, b := call(t, "POST", a.base+"/h/"+bin.ID+"/loop", nil, "x"); s != 200 {
				t.Fatalf("capture: %d %s", s, b)
			}
			l := a.waitCount(t, bin.ID, forward.MaxHops+1)
			time.Sleep(200 * time.Millisecond)
			l = a.waitCount(t, bin.ID, forward.MaxHops+1) // and no more
			loops := 0
			for _, s := range l.Requests {
				r := a.get(t, bin.ID, s.ID)
				if r.Forward != nil && strings.HasPrefix(r.Forward.Error, "forward loop") {
					loops++
				}
			}
			if loops != 1 {
				t.Fatalf("%d records carry the loop error, want 1", loops)
			}
		})
	}
}

// TestForwardFailuresFireFailureSpike: the sender is answered 200 (async
// forwarding), but the target fails; the recorded forward outcome is what
// the alert engine's failure_spike sees.
func TestForwardFailuresFireFailureSpike(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_PUBLIC_URL": "http://hookscope.example"})
	slack := newSlackStandIn(t)
	broken := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": broken.URL, "mode": "async"}})
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": "forward failures", "bin_id": bin.ID, "kind": "failure_spike",
		"params":   map[string]any{"window": "2s", "min_count": 3, "threshold": 0.5},
		"channels": []any{map[string]any{"type": "slack", "url": slack.URL + "/services/T1/B1/SLACKSECRET"}}}, 201, nil)
	for range 6 {
		if s, _, _ := call(t, "POST", a.base+"/h/"+bin.ID, nil, `{}`); s != 200 {
			t.Fatalf("sender got %d, want the bin's 200", s)
		}
	}
	waitFor(t, "a firing failure_spike", func() bool { return len(slack.titles("forward failures")) >= 1 })
	if got := slack.titles("forward failures"); got[0] != "Firing" {
		t.Fatalf("messages %v", got)
	}
}
