// Package pagerduty sends alert notifications as PagerDuty Events API v2
// alert events (POST https://events.pagerduty.com/v2/enqueue,
// https://developer.pagerduty.com/docs/events-API-v2/trigger-events/ and
// .../resolve-events/): a firing is a "trigger", its resolution a "resolve"
// with the same dedup_key (so PagerDuty closes the incident the trigger
// opened), a rule test a trigger immediately followed by its resolve. The
// destination is the integration's routing key, a secret: it travels only
// in the body and never appears in errors.
package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

// DefaultEndpoint is the Events API v2 enqueue URL (EU accounts use
// https://events.eu.pagerduty.com/v2/enqueue).
const DefaultEndpoint = "https://events.pagerduty.com/v2/enqueue"

// Options configures the notifier.
type Options struct {
	// Client sends the events; plug an SSRF-guarded client here. Default:
	// a client with a 10 s timeout.
	Client *http.Client
	// Endpoint is the enqueue URL; default DefaultEndpoint.
	Endpoint string
}

// Notifier sends Events API v2 events.
type Notifier struct {
	client   *http.Client
	endpoint notify.URL
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a PagerDuty notifier.
func New(opt Options) *Notifier {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Endpoint == "" {
		opt.Endpoint = DefaultEndpoint
	}
	return &Notifier{client: opt.Client, endpoint: notify.NewURL(opt.Endpoint)}
}

// Event is an Events API v2 alert event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"` // trigger, acknowledge, resolve
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"` // trigger only
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload describes the alert of a trigger.
type Payload struct {
	Summary       string         `json:"summary"` // at most 1024 characters
	Source        string         `json:"source"`
	Severity      string         `json:"severity"` // critical, error, warning, info
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown on the incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DedupKey identifies one episode of one rule on one bin (at most 255
// characters, as the API allows).
func DedupKey(n *notify.Notification) string {
	return notify.Truncate("hookscope/"+n.RuleID+"/"+n.BinID+"/"+n.EpisodeID, 255)
}

// Build renders n as the event for action ("trigger" or "resolve").
func Build(routingKey, action string, n *notify.Notification) *Event {
	ev := &Event{RoutingKey: routingKey, EventAction: action, DedupKey: DedupKey(n)}
	if action != "trigger" {
		return ev
	}
	sev := "info"
	switch n.Severity {
	case notify.SeverityCritical:
		sev = "critical"
	case notify.SeverityWarning:
		sev = "warning"
	}
	details := map[string]any{
		"rule_id": n.RuleID, "rule_name": n.RuleName, "kind": n.Kind, "bin_id": n.BinID, "state": n.State,
		"observed": notify.FormatValue(n.Observed, n.Unit), "threshold": notify.FormatValue(n.Threshold, n.Unit),
		"window": n.Window, "episode_id": n.EpisodeID, "started_at": n.StartedAt.UTC().Format(time.RFC3339),
		"sample_request_ids": n.Samples,
	}
	if len(n.Details) > 0 {
		details["details"] = n.Details
	}
	if n.TopSender != nil {
		details["top_sender"] = n.TopSender
	}
	ev.Payload = &Payload{
		Summary:   notify.Truncate(notify.Title(n)+" — "+n.Summary, 1024),
		Source:    "hookscope bin " + n.BinID,
		Severity:  sev,
		Timestamp: n.At.UTC().Format(time.RFC3339),
		Component: n.BinID,
		Group:     n.RuleName,
		Class:     n.Kind,
	}
	ev.Payload.CustomDetails = details
	ev.Client = "hookscope"
	if n.BinURL != "" {
		ev.ClientURL = n.BinURL
		ev.Links = []Link{{Href: n.BinURL, Text: "Open bin " + n.BinID + " in hookscope"}}
	}
	return ev
}

// Notify sends n for the integration whose routing key is dest: firing →
// trigger, resolved → resolve, test → trigger then resolve. PagerDuty
// answers 202; 400 (invalid event) is not retried, 429 and 5xx are.
func (p *Notifier) Notify(ctx context.Context, dest notify.URL, n *notify.Notification) (bool, error) {
	actions := []string{"trigger"}
	switch n.State {
	case notify.StateResolved:
		actions = []string{"resolve"}
	case notify.StateTest:
		actions = []string{"trigger", "resolve"}
	}
	for _, a := range actions {
		body, err := json.Marshal(Build(dest.Reveal(), a, n))
		if err != nil {
			return false, fmt.Errorf("pagerduty: encode %s event: %w", a, err)
		}
		retry, err := notify.PostJSON(ctx, p.client, p.endpoint, body)
		if err != nil {
			// The receiver may echo the routing key back: scrub it.
			return retry, fmt.Errorf("pagerduty: %s: %w", a, notify.ScrubError(dest, err))
		}
	}
	return false, nil
}
