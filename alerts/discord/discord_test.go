package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/alerts/notify/notifytest"
)

const secretPath = "/api/webhooks/123456789/very-secret-webhook-token"

// TestNotifyDiscordShape posts to a loopback receiver standing in for
// Discord and checks the Execute Webhook body: one embed with title, colour
// by severity/state, escaped markdown, fields, footer, timestamp, and
// mentions switched off.
func TestNotifyDiscordShape(t *testing.T) {
	rc := notifytest.NewReceiver(t, func(notifytest.Request) (int, http.Header, string) { return 204, nil, "" })
	n := New(Options{Client: rc.Client})
	dest := notify.NewURL(rc.URL + secretPath)
	tests := []struct {
		state string
		sev   notify.Severity
		color int
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
			if retry, err := n.Notify(context.Background(), dest, notifytest.Sample(tt.state, tt.sev)); err != nil {
				t.Fatalf("Notify: retry=%v err=%v", retry, err)
			}
			got := rc.Requests()[i]
			if got.Method != "POST" || got.Path != secretPath || got.ContentType != "application/json" {
				t.Errorf("request %s %s (%s)", got.Method, got.Path, got.ContentType)
			}
			var m struct {
				Content         string `json:"content"`
				Username        string `json:"username"`
				AllowedMentions *struct {
					Parse []string `json:"parse"`
				} `json:"allowed_mentions"`
				Embeds []struct {
					Title       string `json:"title"`
					Description string `json:"description"`
					URL         string `json:"url"`
					Color       int    `json:"color"`
					Fields      []struct {
						Name   string `json:"name"`
						Value  string `json:"value"`
						Inline bool   `json:"inline"`
					} `json:"fields"`
					Footer    struct{ Text string } `json:"footer"`
					Timestamp string                `json:"timestamp"`
				} `json:"embeds"`
			}
			dec := json.NewDecoder(strings.NewReader(string(got.Body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("body %s: %v", got.Body, err)
			}
			if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
				t.Errorf("mentions not switched off: %s", got.Body)
			}
			if len(m.Embeds) != 1 {
				t.Fatalf("embeds %d", len(m.Embeds))
			}
			e := m.Embeds[0]
			if !strings.HasPrefix(e.Title, tt.title) || !strings.Contains(e.Title, "bin42") || e.Color != tt.color ||
				e.URL != "https://hooks.example/bins/bin42" || e.Timestamp != "2026-01-01T10:00:05Z" || !strings.Contains(e.Footer.Text, "ep1") {
				t.Errorf("embed %+v", e)
			}
			if !strings.Contains(e.Description, `\[click\]\(http://evil.test\)`) || strings.Contains(e.Description, "[click](") {
				t.Errorf("captured markdown not escaped: %q", e.Description)
			}
			fields := map[string]string{}
			for _, f := range e.Fields {
				fields[f.Name] = f.Value
			}
			if fields["Observed"] != "78.0%" || fields["Threshold"] != "50.0%" || fields["Window"] != "10s" ||
				!strings.Contains(fields["Top sender"], "203.0.113.9") ||
				!strings.Contains(fields["Sample requests"], "https://hooks.example/bins/bin42/requests/0190a0b0-0000-7000-8000-000000000001") {
				t.Errorf("fields %v", fields)
			}
		})
	}
}

// TestDiscordLimits: a huge summary is cut to Discord's embed limits
// instead of getting the whole message refused.
func TestDiscordLimits(t *testing.T) {
	n := notifytest.Sample(notify.StateFiring, notify.SeverityCritical)
	n.Summary = strings.Repeat("é", 10_000)
	n.RuleName = strings.Repeat("r", 1000)
	for range 40 {
		n.Details = append(n.Details, strings.Repeat("d", 500))
	}
	m := Build(n, "hookscope")
	e := m.Embeds[0]
	if c := len([]rune(e.Title)); c > maxTitle {
		t.Errorf("title %d characters", c)
	}
	if c := len([]rune(e.Description)); c > maxDescription {
		t.Errorf("description %d characters", c)
	}
	for _, f := range e.Fields {
		if len([]rune(f.Value)) > maxFieldValue || len([]rune(f.Name)) > maxFieldName {
			t.Errorf("field %q too long", f.Name)
		}
	}
	if c := embedChars(e); c > 6000 {
		t.Errorf("embed %d characters, Discord allows 6000", c)
	}
	if len([]rune(m.Content)) > maxContent {
		t.Errorf("content %d characters", len([]rune(m.Content)))
	}
}

// TestNotifyDiscordErrorsHideURL: failures are classified for retries and
// never carry the webhook URL or its token, even when the receiver echoes
// them back.
func TestNotifyDiscordErrorsHideURL(t *testing.T) {
	for _, tt := range []struct {
		status int
		retry  bool
	}{{429, true}, {500, true}, {404, false}, {400, false}} {
		rc := notifytest.NewReceiver(t, func(r notifytest.Request) (int, http.Header, string) {
			return tt.status, http.Header{"Retry-After": {"3"}}, `{"message":"Unknown Webhook ` + r.Path + `"}`
		})
		dest := notify.NewURL(rc.URL + secretPath)
		retry, err := New(Options{Client: rc.Client}).Notify(context.Background(), dest, notifytest.Sample(notify.StateFiring, notify.SeverityInfo))
		if err == nil || retry != tt.retry {
			t.Errorf("%d: retry=%v err=%v, want retry=%v", tt.status, retry, err, tt.retry)
			continue
		}
		if s := fmt.Sprintf("%v %+v", err, err); strings.Contains(s, "very-secret") || strings.Contains(s, "123456789") {
			t.Errorf("%d: error leaks the webhook: %s", tt.status, s)
		}
	}
	// Transport failure (nothing listening): retryable, still no URL.
	rc := notifytest.NewReceiver(t, nil)
	dead := notify.NewURL("http://127.0.0.1:1" + secretPath)
	retry, err := New(Options{Client: rc.Client}).Notify(context.Background(), dead, notifytest.Sample(notify.StateFiring, notify.SeverityInfo))
	if err == nil || !retry || strings.Contains(err.Error(), "very-secret") {
		t.Errorf("transport failure: retry=%v err=%v", retry, err)
	}
}
