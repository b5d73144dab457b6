package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

func sample(state string, sev notify.Severity) *notify.Notification {
	return &notify.Notification{State: state, EpisodeID: "ep1", RuleID: "r1", RuleName: "bad <signatures>",
		Kind: "signature_failures", Severity: sev, BinID: "bin42", BinURL: "https://hooks.example/bins/bin42",
		Summary: "7 of 9 checked signatures failed (78%)", Details: []string{"new sender 203.0.113.9 failed 7 signature checks"},
		Observed: 0.78, Threshold: 0.5, Unit: "share", Window: "10s",
		Samples: []string{"0190a0b0-0000-7000-8000-000000000001"}, TopSender: &notify.Sender{IP: "203.0.113.9", Count: 7},
		StartedAt: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), At: time.Date(2026, 1, 1, 10, 0, 5, 0, time.UTC)}
}

// TestNotifySlackShape posts to a loopback receiver standing in for Slack
// and checks the JSON it receives.
func TestNotifySlackShape(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/services/T/B/secret" {
			w.WriteHeader(400)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	n := New(Options{Client: srv.Client()})
	dest := notify.NewURL(srv.URL + "/services/T/B/secret")
	tests := []struct {
		state string
		sev   notify.Severity
		color string
		title string
	}{
		{notify.StateFiring, notify.SeverityCritical, ColorCritical, "Firing [critical]"},
		{notify.StateFiring, notify.SeverityWarning, ColorWarning, "Firing [warning]"},
		{notify.StateFiring, notify.SeverityInfo, ColorInfo, "Firing [info]"},
		{notify.StateResolved, notify.SeverityCritical, ColorResolved, "Resolved"},
		{notify.StateTest, notify.SeverityWarning, ColorWarning, "Test"},
	}
	for i, tt := range tests {
		t.Run(tt.state+"/"+string(tt.sev), func(t *testing.T) {
			if retry, err := n.Notify(context.Background(), dest, sample(tt.state, tt.sev)); err != nil {
				t.Fatalf("Notify: retry=%v err=%v", retry, err)
			}
			mu.Lock()
			body := bodies[i]
			mu.Unlock()
			var m struct {
				Text   string `json:"text"`
				Blocks []struct {
					Type string `json:"type"`
					Text *struct{ Type, Text string }
				} `json:"blocks"`
				Attachments []struct {
					Color  string            `json:"color"`
					Blocks []json.RawMessage `json:"blocks"`
				} `json:"attachments"`
			}
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(m.Text, tt.title) || !strings.Contains(m.Text, "bin42") {
				t.Errorf("text %q", m.Text)
			}
			if len(m.Blocks) < 2 || m.Blocks[0].Type != "header" || m.Blocks[1].Type != "section" {
				t.Fatalf("blocks %s", body)
			}
			if !strings.Contains(m.Blocks[1].Text.Text, "<https://hooks.example/bins/bin42|Open bin bin42 in hookscope>") {
				t.Errorf("no link to the bin: %q", m.Blocks[1].Text.Text)
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Color != tt.color || len(m.Attachments[0].Blocks) == 0 {
				t.Errorf("attachments %s", body)
			}
			s := string(body)
			for _, want := range []string{"78.0%", "50.0%", "203.0.113.9", "0190a0b0-0000-7000-8000-000000000001", `bad \u0026lt;signatures\u0026gt;`} {
				if !strings.Contains(s, want) {
					t.Errorf("message lacks %q: %s", want, s)
				}
			}
		})
	}
}

func TestNotifySlackErrorsHideURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(429)
		_, _ = w.Write([]byte("rate limited " + r.URL.String()))
	}))
	defer srv.Close()
	retry, err := New(Options{Client: srv.Client()}).Notify(context.Background(), notify.NewURL(srv.URL+"/services/T/B/secret-xyz"), sample("firing", "critical"))
	if !retry || err == nil {
		t.Fatalf("retry=%v err=%v, want a retryable error", retry, err)
	}
	if d, ok := notify.RetryAfter(err); !ok || d != 3*time.Second {
		t.Errorf("RetryAfter = %s %v", d, ok)
	}
	if strings.Contains(err.Error(), "secret-xyz") {
		t.Errorf("error leaks the URL: %v", err)
	}
}
