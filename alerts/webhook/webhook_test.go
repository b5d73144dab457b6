package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

func TestNotifyWebhookJSON(t *testing.T) {
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer srv.Close()
	n := &notify.Notification{State: "firing", EpisodeID: "ep", RuleID: "r1", RuleName: "x", Kind: "failure_spike",
		Severity: "critical", BinID: "b1", Summary: "s", Observed: 0.9, Threshold: 0.5, Unit: "share", Window: "1m",
		Samples: []string{"id1"}, TopSender: &notify.Sender{IP: "192.0.2.1", Count: 3}, At: time.Unix(0, 0).UTC()}
	if _, err := New(Options{Client: srv.Client()}).Notify(context.Background(), notify.NewURL(srv.URL+"/hook?k=secret"), n); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(<-got, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"version": "1", "source": "hookscope", "state": "firing", "rule_id": "r1",
		"bin_id": "b1", "observed": 0.9, "threshold": 0.5, "severity": "critical"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if ts, ok := m["top_sender"].(map[string]any); !ok || ts["ip"] != "192.0.2.1" {
		t.Errorf("top_sender = %v", m["top_sender"])
	}
}

func TestNotifyWebhookNoRetryOn4xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(410) }))
	defer srv.Close()
	retry, err := New(Options{Client: srv.Client()}).Notify(context.Background(), notify.NewURL(srv.URL+"/p/secret-path"), &notify.Notification{})
	if retry || err == nil || !strings.Contains(err.Error(), "410") || strings.Contains(err.Error(), "secret-path") {
		t.Errorf("retry=%v err=%v", retry, err)
	}
}
