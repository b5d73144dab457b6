package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/alerts/notify/notifytest"
)

const routingKey = "R0UT1NGKEYsecret0123456789abcdef"

// TestNotifyPagerDutyShape sends a firing, its resolve and a test to a
// loopback receiver standing in for events.pagerduty.com and checks each
// event against the Events API v2 documentation: trigger with payload
// (summary, source, severity, timestamp, component, group, class,
// custom_details), resolve with only routing_key, event_action and the same
// dedup_key.
func TestNotifyPagerDutyShape(t *testing.T) {
	rc := notifytest.NewReceiver(t, func(notifytest.Request) (int, http.Header, string) {
		return 202, nil, `{"status":"success","message":"Event processed","dedup_key":"x"}`
	})
	n := New(Options{Client: rc.Client, Endpoint: rc.URL + "/v2/enqueue"})
	dest := notify.NewURL(routingKey)
	ctx := context.Background()
	for _, st := range []string{notify.StateFiring, notify.StateResolved, notify.StateTest} {
		if retry, err := n.Notify(ctx, dest, notifytest.Sample(st, notify.SeverityCritical)); err != nil {
			t.Fatalf("%s: retry=%v err=%v", st, retry, err)
		}
	}
	reqs := rc.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want trigger, resolve, trigger+resolve", len(reqs))
	}
	type event struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     *struct {
			Summary       string         `json:"summary"`
			Source        string         `json:"source"`
			Severity      string         `json:"severity"`
			Timestamp     string         `json:"timestamp"`
			Component     string         `json:"component"`
			Group         string         `json:"group"`
			Class         string         `json:"class"`
			CustomDetails map[string]any `json:"custom_details"`
		} `json:"payload"`
		Client    string `json:"client"`
		ClientURL string `json:"client_url"`
		Links     []struct{ Href, Text string }
	}
	var evs []event
	for _, r := range reqs {
		if r.Method != "POST" || r.Path != "/v2/enqueue" || r.ContentType != "application/json" {
			t.Errorf("request %s %s %s", r.Method, r.Path, r.ContentType)
		}
		var e event
		dec := json.NewDecoder(strings.NewReader(string(r.Body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s: %v", r.Body, err)
		}
		evs = append(evs, e)
	}
	want := []string{"trigger", "resolve", "trigger", "resolve"}
	for i, e := range evs {
		if e.RoutingKey != routingKey || e.EventAction != want[i] || e.DedupKey != "hookscope/r1/bin42/ep1" {
			t.Errorf("event %d: %+v", i, e)
		}
		if (e.EventAction == "resolve") != (e.Payload == nil) {
			t.Errorf("event %d: a trigger needs a payload, a resolve none: %+v", i, e)
		}
	}
	p := evs[0].Payload
	if !strings.HasPrefix(p.Summary, "Firing [critical]: ") || p.Source != "hookscope bin bin42" || p.Severity != "critical" ||
		p.Timestamp != "2026-01-01T10:00:05Z" || p.Component != "bin42" || p.Class != "signature_failures" ||
		p.CustomDetails["observed"] != "78.0%" || p.CustomDetails["rule_id"] != "r1" {
		t.Errorf("payload %+v", p)
	}
	if evs[0].Client != "hookscope" || evs[0].ClientURL != "https://hooks.example/bins/bin42" || len(evs[0].Links) != 1 {
		t.Errorf("client/links %+v", evs[0])
	}
	if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
		t.Errorf("timestamp %q", p.Timestamp)
	}
}

func TestPagerDutySeverityAndLimits(t *testing.T) {
	for sev, want := range map[notify.Severity]string{notify.SeverityCritical: "critical", notify.SeverityWarning: "warning", notify.SeverityInfo: "info"} {
		n := notifytest.Sample(notify.StateFiring, sev)
		n.Summary = strings.Repeat("x", 5000)
		n.EpisodeID = strings.Repeat("e", 400)
		ev := Build(routingKey, "trigger", n)
		if ev.Payload.Severity != want || len([]rune(ev.Payload.Summary)) > 1024 || len([]rune(ev.DedupKey)) > 255 {
			t.Errorf("%s: severity %q, summary %d, dedup_key %d characters", sev, ev.Payload.Severity, len(ev.Payload.Summary), len(ev.DedupKey))
		}
	}
}

// TestNotifyPagerDutyErrorsHideKey: 400 is final, 429 and 5xx retryable
// (keeping Retry-After), and the routing key never reaches an error even
// when PagerDuty's answer quotes it.
func TestNotifyPagerDutyErrorsHideKey(t *testing.T) {
	for _, tt := range []struct {
		status int
		retry  bool
	}{{400, false}, {429, true}, {500, true}, {503, true}} {
		rc := notifytest.NewReceiver(t, func(r notifytest.Request) (int, http.Header, string) {
			return tt.status, http.Header{"Retry-After": {"9"}}, `{"status":"invalid event","message":"Event object is invalid","errors":["bad key ` + routingKey + `"]}`
		})
		retry, err := New(Options{Client: rc.Client, Endpoint: rc.URL + "/v2/enqueue"}).Notify(context.Background(), notify.NewURL(routingKey), notifytest.Sample(notify.StateFiring, notify.SeverityInfo))
		if err == nil || retry != tt.retry {
			t.Errorf("%d: retry=%v err=%v", tt.status, retry, err)
			continue
		}
		if s := fmt.Sprintf("%v %+v", err, err); strings.Contains(s, "R0UT1NG") || strings.Contains(s, "secret0123") {
			t.Errorf("%d: error leaks the routing key: %s", tt.status, s)
		}
		if ra, ok := notify.RetryAfter(err); tt.retry && (!ok || ra != 9*time.Second) {
			t.Errorf("%d: Retry-After lost: %v %v", tt.status, ra, ok)
		}
	}
	if h := notify.NewURL(routingKey).Hint(); h != "…cdef" {
		t.Errorf("hint %q", h)
	}
}
