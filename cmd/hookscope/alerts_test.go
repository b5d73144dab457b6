package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// slackStandIn is a local HTTP receiver standing in for a Slack incoming
// webhook: it accepts only Slack's JSON shape (text + blocks).
type slackStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	texts []string
	bad   []string
}

func newSlackStandIn(t *testing.T) *slackStandIn {
	s := &slackStandIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var m struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
			} `json:"blocks"`
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := json.Unmarshal(raw, &m); err != nil || m.Text == "" || len(m.Blocks) == 0 || m.Blocks[0].Type != "header" ||
			r.URL.Path != "/services/T1/B1/SLACKSECRET" || !bytes.Contains(raw, []byte("http://hookscope.example/bins/")) {
			s.bad = append(s.bad, string(raw))
			w.WriteHeader(400)
			return
		}
		s.texts = append(s.texts, m.Text)
	}))
	t.Cleanup(s.Close)
	return s
}

// titles returns "Firing"/"Resolved"/... of the messages about a rule.
func (s *slackStandIn) titles(rule string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, txt := range s.texts {
		if strings.Contains(txt, ": "+rule+" on bin ") {
			out = append(out, strings.Fields(txt)[0])
		}
	}
	return out
}

// TestAlertsEndToEndApp is issue 6's proof on the real binary's App: bursts
// of failures, bad signatures and a new IP each give exactly one firing and
// one resolved Slack message.
func TestAlertsEndToEndApp(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{
		"HOOKSCOPE_TRUSTED_PROXIES": "127.0.0.0/8",
		"HOOKSCOPE_PUBLIC_URL":      "http://hookscope.example",
		// The Slack stand-in listens on loopback, which the SSRF guard on
		// notifiers refuses unless private targets are allowed.
		"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true",
	})
	slack := newSlackStandIn(t)
	secret := "e2e-secret"
	failingBin := a.newBin(t, map[string]any{"response": map[string]any{"status": 500}})
	signedBin := a.newBin(t, map[string]any{"signature": map[string]any{"scheme": "github", "secret": secret}})
	watchedBin := a.newBin(t, map[string]any{"signature": map[string]any{"scheme": "github", "secret": secret}})
	failing, signed, watched := failingBin.ID, signedBin.ID, watchedBin.ID
	for _, r := range []struct{ name, bin, token, kind string }{
		{"failures", failing, failingBin.Token, "failure_spike"},
		{"bad signatures", signed, signedBin.Token, "signature_failures"},
		{"new sender", watched, watchedBin.Token, "suspicious_sender"},
	} {
		var out map[string]any
		// A bin's alert rules need its owner token (issue 12.5).
		doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", r.token, map[string]any{"name": r.name, "bin_id": r.bin, "kind": r.kind,
			"params":   map[string]any{"window": "2s", "min_count": 3, "threshold": 0.5},
			"channels": []any{map[string]any{"type": "slack", "url": slack.URL + "/services/T1/B1/SLACKSECRET"}}}, 201, &out)
		if raw, _ := json.Marshal(out); bytes.Contains(raw, []byte("SLACKSECRET")) {
			t.Fatalf("rule output shows the webhook URL: %s", raw)
		}
	}
	send := func(bin, ip string, hdr []schema.Header, body []byte) {
		req, _ := http.NewRequest("POST", a.base+"/h/"+bin, bytes.NewReader(body))
		req.Header.Set("X-Forwarded-For", ip)
		for _, h := range hdr {
			req.Header.Set(h.Name, h.Value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}
	cfg := &schema.SignatureConfig{Scheme: "github", Secret: secret}
	for i := range 25 { // the watched bin's usual sender
		body := fmt.Appendf(nil, `{"i":%d}`, i)
		hs, err := signature.Sign(cfg, body, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		send(watched, "198.51.100.7", hs, body)
	}
	time.Sleep(3 * time.Second) // leaves the window: learned
	bad := []schema.Header{{Name: "X-Hub-Signature-256", Value: "sha256=" + strings.Repeat("0", 64)}}
	for i := range 10 {
		send(failing, "192.0.2.1", nil, []byte(`{}`))
		send(signed, "192.0.2.2", bad, fmt.Appendf(nil, `{"i":%d}`, i))
		send(watched, "203.0.113.66", bad, fmt.Appendf(nil, `{"i":%d}`, i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(slack.titles("failures")) < 2 || len(slack.titles("bad signatures")) < 2 || len(slack.titles("new sender")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %v / %v / %v", slack.titles("failures"), slack.titles("bad signatures"), slack.titles("new sender"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would arrive now
	for _, rule := range []string{"failures", "bad signatures", "new sender"} {
		if got := slack.titles(rule); !slices.Equal(got, []string{"Firing", "Resolved:"}) {
			t.Errorf("%s: %v, want one firing and one resolved", rule, got)
		}
	}
	slack.mu.Lock()
	if len(slack.bad) > 0 {
		t.Errorf("messages not in Slack's shape: %v", slack.bad)
	}
	slack.mu.Unlock()
	var evs struct {
		Events []struct {
			State string `json:"state"`
		} `json:"events"`
	}
	doJSON(t, "GET", a.base+"/api/v1/alerts/events", nil, 200, &evs)
	if len(evs.Events) != 6 {
		t.Errorf("%d alert events, want 6", len(evs.Events))
	}
}
