package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/discord"
	"github.com/hookscope/hookscope/alerts/pagerduty"
	"github.com/hookscope/hookscope/alerts/slack"
	"github.com/hookscope/hookscope/alerts/webhook"
	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/ingest/caplog/disklog"
	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
	"github.com/hookscope/hookscope/web"
)

// hookscope is a real hookscope assembled like cmd/hookscope: SQLite store,
// capture log with its consumers, capture pipeline with signature verification and the
// alert engine as observer, the Fiber server on a loopback port.
type hookscope struct {
	base   string
	store  *sqlite.Store
	engine *alerts.Engine
	stop   func()
	// admin is sent with every API call: these tests are about alerting;
	// who may manage a bin's rules is tested in cmd/hookscope (bins_test.go).
	admin string
}

func startHookscope(t *testing.T, dir string, logs io.Writer) *hookscope {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := sqlite.Open(ctx, filepath.Join(dir, "hookscope.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clog, err := disklog.Open(filepath.Join(dir, "log"), disklog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	engine := alerts.New(store, store, alerts.Options{Logger: log, PublicURL: base, EvalInterval: 100 * time.Millisecond,
		RetryInitial: 50 * time.Millisecond, Notifiers: alerts.Notifiers{
			alerts.ChannelSlack: slack.New(slack.Options{}), alerts.ChannelWebhook: webhook.New(webhook.Options{}),
			alerts.ChannelPagerDuty: pagerduty.New(pagerduty.Options{}), alerts.ChannelDiscord: discord.New(discord.Options{})}})
	pipeline := ingest.NewPipeline(store, clog, ingest.Options{Logger: log})
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	key := []byte("alerts-e2e-test-key-alerts-e2e-test-key")
	admin, _, err := web.MintToken(key, web.ScopeAdmin, "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	binSvc := bins.New(store, pipeline, bins.Options{ValidateSignature: signature.ValidateConfig})
	consumers, err := ingest.StartConsumers(ctx, clog, store, engine, nil, ingest.ConsumerOptions{Logger: log, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Deps{Store: store, Pipeline: pipeline, Alerts: alerts.NewService(store, engine, alerts.ServiceOptions{Bins: store}),
		Bins: binSvc},
		web.Options{Logger: log, PublicURL: base, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, JWTKey: key})
	go func() { _ = srv.Serve(ln) }()
	h := &hookscope{base: base, store: store, engine: engine, admin: admin}
	var once sync.Once
	h.stop = func() {
		once.Do(func() { // the shutdown order of cmd/hookscope
			_ = srv.Shutdown(ctx)
			_ = consumers.Close(ctx)
			_ = engine.Close(ctx)
			_ = clog.Close()
			_ = store.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

func (h *hookscope) call(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// capture POSTs body to a bin as if from ip, with extra headers.
func (h *hookscope) capture(t *testing.T, bin, ip string, body []byte, hdr []schema.Header) int {
	t.Helper()
	req, _ := http.NewRequest("POST", h.base+"/h/"+bin+"/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	for _, x := range hdr {
		req.Header.Set(x.Name, x.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// slackMsg is what the stand-in receiver checks of Slack's JSON shape.
type slackMsg struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string          `json:"type"`
		Text json.RawMessage `json:"text"`
	} `json:"blocks"`
	Attachments []struct {
		Color  string            `json:"color"`
		Blocks []json.RawMessage `json:"blocks"`
	} `json:"attachments"`
	raw string
}

type slackReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []slackMsg
	bad  []string
}

func newSlackReceiver(t *testing.T) *slackReceiver {
	r := &slackReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var m slackMsg
		err := json.Unmarshal(raw, &m)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || req.Method != "POST" || req.Header.Get("Content-Type") != "application/json" || req.URL.Path != "/services/T0/B0/XXXXSECRET" {
			r.bad = append(r.bad, fmt.Sprintf("%s %s %s", req.Method, req.URL.Path, raw))
			w.WriteHeader(400)
			return
		}
		m.raw = string(raw)
		r.msgs = append(r.msgs, m)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.Close)
	return r
}

// byRule returns the Slack titles received for a rule name, in order.
func (r *slackReceiver) byRule(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if strings.Contains(m.Text, ": "+name+" on bin") {
			out = append(out, strings.SplitN(m.Text, ":", 2)[0])
		}
	}
	return out
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAlertsEndToEnd drives a real hookscope with a burst of failures, of bad
// signatures and of a new IP, and checks that a local receiver standing in
// for Slack gets exactly one firing and one resolved message per episode.
func TestAlertsEndToEnd(t *testing.T) {
	var logs syncBuffer
	h := startHookscope(t, t.TempDir(), &logs)
	slack := newSlackReceiver(t)
	hookURL := slack.URL + "/services/T0/B0/XXXXSECRET"
	secret := "it's-a-secret-to-everybody"

	failing := h.call(t, "POST", "/api/v1/bins", map[string]any{"name": "failing", "response": map[string]any{"status": 503}}, 201)["id"].(string)
	signed := h.call(t, "POST", "/api/v1/bins", map[string]any{"name": "signed", "signature": map[string]any{"scheme": "github", "secret": secret}}, 201)["id"].(string)
	watched := h.call(t, "POST", "/api/v1/bins", map[string]any{"name": "watched", "signature": map[string]any{"scheme": "github", "secret": secret}}, 201)["id"].(string)

	rule := func(name, bin, kind string, params map[string]any) string {
		out := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": name, "bin_id": bin, "kind": kind, "params": params,
			"channels": []map[string]any{{"type": "slack", "url": hookURL}}, "cooldown": "10m", "enabled": true}, 201)
		raw, _ := json.Marshal(out)
		if strings.Contains(string(raw), "XXXXSECRET") || !strings.Contains(string(raw), `"url_hint"`) {
			t.Fatalf("rule output leaks the webhook URL or lacks its hint: %s", raw)
		}
		return out["id"].(string)
	}
	rFail := rule("failures", failing, "failure_spike", map[string]any{"window": "2s", "min_count": 5, "threshold": 0.5})
	rSig := rule("bad signatures", signed, "signature_failures", map[string]any{"window": "2s", "min_count": 5, "threshold": 0.5})
	rIP := rule("new sender", watched, "suspicious_sender", map[string]any{"window": "2s", "min_count": 3, "threshold": 0.5})

	cfg := &schema.SignatureConfig{Scheme: "github", Secret: secret}
	goodSig := func(body []byte) []schema.Header {
		hs, err := signature.Sign(cfg, body, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}
	badSig := []schema.Header{{Name: "X-Hub-Signature-256", Value: "sha256=" + strings.Repeat("ab", 32)}}

	// The watched bin learns its usual sender first (learned once the
	// requests leave the 2 s window).
	for i := range 25 {
		body := fmt.Appendf(nil, `{"n":%d}`, i)
		if code := h.capture(t, watched, "198.51.100.7", body, goodSig(body)); code != 200 {
			t.Fatalf("capture = %d", code)
		}
	}
	time.Sleep(2500 * time.Millisecond)

	// The three bursts, concurrently.
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 20 {
			if code := h.capture(t, failing, "192.0.2.10", []byte(`{}`), nil); code != 503 {
				t.Errorf("failing bin answered %d", code)
			}
		}
	})
	wg.Go(func() {
		for i := range 20 {
			h.capture(t, signed, "192.0.2.20", fmt.Appendf(nil, `{"i":%d}`, i), badSig)
		}
	})
	wg.Go(func() {
		for i := range 6 {
			h.capture(t, watched, "203.0.113.66", fmt.Appendf(nil, `{"i":%d}`, i), badSig)
		}
	})
	wg.Wait()

	want := []string{"Firing [critical]", "Resolved"}
	wantW := []string{"Firing [warning]", "Resolved"}
	waitFor(t, "three firing and three resolved messages", 20*time.Second, func() bool {
		return len(slack.byRule("failures")) >= 2 && len(slack.byRule("bad signatures")) >= 2 && len(slack.byRule("new sender")) >= 2
	})
	time.Sleep(1500 * time.Millisecond) // anything extra would arrive now
	if got := slack.byRule("failures"); !slices.Equal(got, want) {
		t.Errorf("failures: %v, want %v", got, want)
	}
	if got := slack.byRule("bad signatures"); !slices.Equal(got, wantW) {
		t.Errorf("bad signatures: %v, want %v", got, wantW)
	}
	if got := slack.byRule("new sender"); !slices.Equal(got, wantW) {
		t.Errorf("new sender: %v, want %v", got, wantW)
	}
	slack.mu.Lock()
	if len(slack.bad) > 0 || len(slack.msgs) != 6 {
		t.Errorf("receiver got %d messages, %d malformed: %v", len(slack.msgs), len(slack.bad), slack.bad)
	}
	for _, m := range slack.msgs {
		if m.Text == "" || len(m.Blocks) < 2 || m.Blocks[0].Type != "header" || len(m.Attachments) != 1 || m.Attachments[0].Color == "" {
			t.Errorf("not Slack's shape (text + blocks): %s", m.raw)
		}
		if !strings.Contains(m.raw, h.base+"/bins/") {
			t.Errorf("no link to the bin in the inspector: %s", m.raw)
		}
	}
	var firingIP string
	for _, m := range slack.msgs {
		if strings.HasPrefix(m.Text, "Firing") && strings.Contains(m.Text, "new sender") {
			firingIP = m.raw
		}
	}
	slack.mu.Unlock()
	if !strings.Contains(firingIP, "203.0.113.66") || !strings.Contains(firingIP, "new sender 203.0.113.66 failed") {
		t.Errorf("new-IP alert does not name the sender: %s", firingIP)
	}

	// The history API has one firing and one resolved per rule.
	for _, id := range []string{rFail, rSig, rIP} {
		evs := h.call(t, "GET", "/api/v1/alerts/events?rule_id="+id, nil, 200)["events"].([]any)
		var states []string
		for _, e := range evs {
			states = append(states, e.(map[string]any)["state"].(string))
		}
		if !slices.Equal(states, []string{"resolved", "firing"}) {
			t.Errorf("events of rule %s: %v, want resolved, firing", id, states)
		}
		fe := evs[1].(map[string]any)
		if fe["summary"] == "" || fe["observed"] == nil || len(fe["sample_request_ids"].([]any)) == 0 || fe["top_sender"] == nil {
			t.Errorf("firing event lacks what/how much: %v", fe)
		}
	}

	// Test a rule: a sample notification reaches the receiver.
	res := h.call(t, "POST", "/api/v1/alerts/rules/"+rSig+"/test", nil, 200)
	if res["ok"] != true {
		t.Errorf("test rule: %v", res)
	}
	waitFor(t, "the test message", 5*time.Second, func() bool { return len(slack.byRule("bad signatures")) == 3 })

	if strings.Contains(logs.String(), "XXXXSECRET") {
		t.Errorf("webhook URL leaked into the logs")
	}
}

// TestAlertRulesAPI covers the CRUD routes, errors and write-only URLs.
func TestAlertRulesAPI(t *testing.T) {
	var logs syncBuffer
	h := startHookscope(t, t.TempDir(), &logs)
	bin := h.call(t, "POST", "/api/v1/bins", nil, 201)["id"].(string)
	r := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "bad signatures", "bin_id": bin, "kind": "signature_failures",
		"params":   map[string]any{"window": "10s", "min_count": 5, "threshold": 0.5},
		"channels": []map[string]any{{"type": "slack", "url": "https://hooks.slack.com/services/T/B/SECRETabcd"}, {"type": "webhook", "url": "https://example.test/hook"}},
		"cooldown": "10m", "enabled": true}, 201)
	id := r["id"].(string)
	if r["kind"] != "signature_failures" || r["bin_id"] != bin || r["cooldown"] != "10m" {
		t.Errorf("created %v", r)
	}
	got := h.call(t, "GET", "/api/v1/alerts/rules/"+id, nil, 200)
	ch := got["channels"].([]any)[0].(map[string]any)
	if ch["url"] != nil || ch["url_hint"] != "https://hooks.slack.com/…abcd" {
		t.Errorf("channel %v: URL must be write-only with a hint", ch)
	}
	p := h.call(t, "PATCH", "/api/v1/alerts/rules/"+id, map[string]any{"enabled": false, "params": map[string]any{"min_count": 7}}, 200)
	if p["enabled"] != false || p["params"].(map[string]any)["min_count"] != 7.0 {
		t.Errorf("patched %v", p)
	}
	list := h.call(t, "GET", "/api/v1/alerts/rules", nil, 200)["rules"].([]any)
	if len(list) != 1 {
		t.Errorf("list %v", list)
	}
	e := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "x", "kind": "failure_spike", "params": map[string]any{"threshold": 2}}, 400)
	if !strings.Contains(e["error"].(string), "params.threshold") {
		t.Errorf("validation error %v", e)
	}
	e = h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "x", "kind": "failure_spike",
		"channels": []map[string]any{{"type": "slack", "url": "gopher://SECRET-host/x"}}}, 400)
	if strings.Contains(e["error"].(string), "SECRET") || !strings.Contains(e["error"].(string), "channels[0].url") {
		t.Errorf("channel URL error %v", e)
	}
	e = h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "x", "kind": "failure_spike", "bin_id": "no-such-bin"}, 400)
	if !strings.Contains(e["error"].(string), "bin_id") {
		t.Errorf("unknown bin error %v", e)
	}
	h.call(t, "GET", "/api/v1/alerts/rules/nope", nil, 404)
	h.call(t, "PATCH", "/api/v1/alerts/rules/nope", map[string]any{}, 404)
	h.call(t, "GET", "/api/v1/alerts/events?limit=0", nil, 400)
	h.call(t, "GET", "/api/v1/alerts/events?before=x", nil, 400)
	d := h.call(t, "POST", "/api/v1/alerts/defaults", map[string]any{"bin_id": bin, "channels": []any{}}, 201)
	if n := len(d["rules"].([]any)); n != len(alerts.Kinds) {
		t.Errorf("defaults created %d rules", n)
	}
	h.call(t, "POST", "/api/v1/alerts/defaults", map[string]any{"bin_id": "no-such-bin"}, 404)
	other := h.call(t, "POST", "/api/v1/bins", nil, 201)["id"].(string)
	h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "other", "bin_id": other, "kind": "failure_spike"}, 201)
	h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "everywhere", "bin_id": nil, "kind": "failure_spike"}, 201)
	var names []string
	for _, r := range h.call(t, "GET", "/api/v1/alerts/rules?bin_id="+other, nil, 200)["rules"].([]any) {
		names = append(names, r.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"other", "everywhere"}) {
		t.Errorf("rules for bin %s: %v, want its own and the every-bin rule", other, names)
	}
	h.call(t, "DELETE", "/api/v1/alerts/rules/"+id, nil, 204)
	h.call(t, "DELETE", "/api/v1/alerts/rules/"+id, nil, 404)
	if strings.Contains(logs.String(), "SECRET") {
		t.Errorf("secret in logs")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAlertsSurviveRestart stops hookscope while an alert fires and starts it
// again on the same data: the engine rebuilds its window from the store and
// its state from the alert history, so the episode is not announced twice
// and still resolves.
func TestAlertsSurviveRestart(t *testing.T) {
	var logs syncBuffer
	dir := t.TempDir()
	slack := newSlackReceiver(t)
	h := startHookscope(t, dir, &logs)
	bin := h.call(t, "POST", "/api/v1/bins", map[string]any{"response": map[string]any{"status": 500}}, 201)["id"].(string)
	h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "failures", "bin_id": bin, "kind": "failure_spike",
		"params": map[string]any{"window": "4s", "min_count": 5}, "channels": []map[string]any{{"type": "slack", "url": slack.URL + "/services/T0/B0/XXXXSECRET"}}}, 201)
	for range 10 {
		h.capture(t, bin, "192.0.2.1", []byte(`{}`), nil)
	}
	waitFor(t, "the firing message", 5*time.Second, func() bool { return len(slack.byRule("failures")) == 1 })
	h.stop()

	h2 := startHookscope(t, dir, &logs)
	if n := h2.engine.Stats().RecoveredRequests; n != 10 {
		t.Errorf("recovered %d requests from the store, want 10", n)
	}
	waitFor(t, "the resolved message", 10*time.Second, func() bool { return len(slack.byRule("failures")) >= 2 })
	time.Sleep(time.Second)
	if got := slack.byRule("failures"); !slices.Equal(got, []string{"Firing [critical]", "Resolved"}) {
		t.Errorf("messages across the restart: %v, want one firing and one resolved", got)
	}
}
