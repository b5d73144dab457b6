package teams

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

const secretPath = "/workflows/abc123/triggers/manual/paths/invoke?api-version=1&sig=very-secret-signature"

// TestNotifyTeamsShape posts to a loopback receiver standing in for a
// Teams Workflows webhook and checks the message activity and its
// Adaptive Card.
func TestNotifyTeamsShape(t *testing.T) {
	rc := notifytest.NewReceiver(t, func(notifytest.Request) (int, http.Header, string) { return 202, nil, "" })
	n := New(Options{Client: rc.Client})
	dest := notify.NewURL(rc.URL + secretPath)
	tests := []struct {
		state string
		sev   notify.Severity
		color string
		title string
	}{
		{notify.StateFiring, notify.SeverityCritical, "attention", "Firing [critical]"},
		{notify.StateFiring, notify.SeverityWarning, "warning", "Firing [warning]"},
		{notify.StateFiring, notify.SeverityInfo, "accent", "Firing [info]"},
		{notify.StateResolved, notify.SeverityCritical, "good", "Resolved"},
		{notify.StateTest, notify.SeverityWarning, "warning", "Test"},
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
			var m map[string]any
			if err := json.Unmarshal(got.Body, &m); err != nil {
				t.Fatal(err)
			}
			att := m["attachments"].([]any)[0].(map[string]any)
			if m["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" {
				t.Errorf("envelope %s", got.Body)
			}
			if v, ok := att["contentUrl"]; !ok || v != nil {
				t.Errorf("contentUrl must be present and null: %s", got.Body)
			}
			card := att["content"].(map[string]any)
			if card["type"] != "AdaptiveCard" || card["version"] != "1.4" || card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
				t.Errorf("card header %v", card)
			}
			body := card["body"].([]any)
			title := body[0].(map[string]any)
			if title["type"] != "TextBlock" || !strings.HasPrefix(title["text"].(string), escape(tt.title)) || title["color"] != tt.color {
				t.Errorf("title %v", title)
			}
			var facts map[string]string
			var texts []string
			for _, e := range body {
				e := e.(map[string]any)
				switch e["type"] {
				case "FactSet":
					facts = map[string]string{}
					for _, f := range e["facts"].([]any) {
						f := f.(map[string]any)
						facts[f["title"].(string)] = f["value"].(string)
					}
				case "TextBlock":
					texts = append(texts, e["text"].(string))
				default:
					t.Errorf("unexpected element %v", e["type"])
				}
			}
			if facts["Observed"] != "78.0%" || facts["Bin"] != "bin42" || facts["Window"] != "10s" || !strings.Contains(facts["Top sender"], "203.0.113.9") {
				t.Errorf("facts %v", facts)
			}
			all := strings.Join(texts, "\n")
			if strings.Contains(all, "[click](") || !strings.Contains(all, `\[click\]`) {
				t.Errorf("captured markdown not escaped: %s", all)
			}
			act := card["actions"].([]any)[0].(map[string]any)
			if act["type"] != "Action.OpenUrl" || act["url"] != "https://hooks.example/bins/bin42" {
				t.Errorf("action %v", act)
			}
		})
	}
}

// TestNotifyTeamsErrorsHideURL: failures are classified for retries and
// never carry the webhook URL or its signature.
func TestNotifyTeamsErrorsHideURL(t *testing.T) {
	for _, tt := range []struct {
		status int
		retry  bool
	}{{429, true}, {502, true}, {400, false}, {401, false}} {
		rc := notifytest.NewReceiver(t, func(r notifytest.Request) (int, http.Header, string) {
			return tt.status, nil, "bad request to " + r.Path
		})
		dest := notify.NewURL(rc.URL + secretPath)
		retry, err := New(Options{Client: rc.Client}).Notify(context.Background(), dest, notifytest.Sample(notify.StateFiring, notify.SeverityInfo))
		if err == nil || retry != tt.retry {
			t.Errorf("%d: retry=%v err=%v, want retry=%v", tt.status, retry, err, tt.retry)
			continue
		}
		if s := fmt.Sprintf("%v", err); strings.Contains(s, "very-secret") {
			t.Errorf("%d: error leaks the webhook: %s", tt.status, s)
		}
	}
}
