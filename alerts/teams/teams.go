// Package teams sends alert notifications to a Microsoft Teams channel
// through a Workflows ("Post to a channel when a webhook request is
// received") or incoming-webhook URL, as one Adaptive Card in a message
// activity — the format Microsoft documents for webhooks
// (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook):
//
//	{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//	  "contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json",
//	  "type":"AdaptiveCard","version":"1.4","body":[...],"actions":[...]}}]}
//
// The card holds a coloured title (attention/warning/accent/good), the
// summary, a FactSet (rule, bin, observed, threshold, window, severity, top
// sender), details, sample requests and an "Open bin" action.
package teams

import (
	"fmt"
	"strings"

	"github.com/hookscope/hookscope/alerts/notify"
)

// Options configures the notifier: its HTTP client.
type Options = notify.HTTPOptions

// Notifier posts Adaptive Cards to Teams webhooks (Workflows answer 202 Accepted).
type Notifier struct{ notify.JSONNotifier }

var _ notify.Notifier = (*Notifier)(nil)

// New returns the notifier.
func New(opt Options) *Notifier {
	return &Notifier{notify.JSONNotifier{Provider: "teams", Client: opt.Client, Render: func(n *notify.Notification) any { return Build(n) }}}
}

// ContentType of an Adaptive Card attachment.
const ContentType = "application/vnd.microsoft.card.adaptive"

// Message is the webhook body: a message activity with one card.
type Message struct {
	Type        string       `json:"type"` // "message"
	Attachments []Attachment `json:"attachments"`
}

// Attachment wraps the card.
type Attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"` // always null
	Content     Card    `json:"content"`
}

// Card is an Adaptive Card.
type Card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"` // "AdaptiveCard"
	Version string    `json:"version"`
	Body    []Element `json:"body"`
	Actions []Action  `json:"actions,omitempty"`
	MSTeams *struct {
		Width string `json:"width"`
	} `json:"msteams,omitempty"`
}

// Element is a TextBlock or a FactSet.
type Element struct {
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	Wrap   bool   `json:"wrap,omitempty"`
	Size   string `json:"size,omitempty"`
	Weight string `json:"weight,omitempty"`
	Color  string `json:"color,omitempty"`
	Facts  []Fact `json:"facts,omitempty"`
}

// Fact is one title/value row of a FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action is an Action.OpenUrl button.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Color is the title colour for n (Adaptive Card colour names).
func Color(n *notify.Notification) string {
	return notify.BySeverity(n, "attention", "warning", "accent", "good")
}

// escape backslash-escapes the Markdown subset TextBlocks render, so
// captured content cannot turn into links or formatting.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
		"<", `\<`, ">", `\>`, "#", `\#`, "`", "\\`").Replace(s)
}

// Build renders n as a Teams message.
func Build(n *notify.Notification) *Message {
	text := func(s string) Element { return Element{Type: "TextBlock", Text: notify.Truncate(s, 4000), Wrap: true} }
	title := text(escape(notify.Title(n)))
	title.Size, title.Weight, title.Color = "Large", "Bolder", Color(n)
	facts := []Fact{
		{"Rule", escape(n.RuleName) + " (" + n.Kind + ")"},
		{"Bin", escape(n.BinID)},
		{"Observed", notify.FormatValue(n.Observed, n.Unit)},
		{"Threshold", notify.FormatValue(n.Threshold, n.Unit)},
		{"Window", n.Window},
		{"Severity", string(n.Severity)},
	}
	if n.TopSender != nil {
		facts = append(facts, Fact{"Top sender", fmt.Sprintf("%s (%d requests)", escape(n.TopSender.IP), n.TopSender.Count)})
	}
	summary := text(escape(n.Summary))
	summary.Weight = "Bolder"
	body := []Element{title, summary, {Type: "FactSet", Facts: facts}}
	for _, d := range n.Details {
		body = append(body, text("- "+escape(d)))
	}
	if len(n.Samples) > 0 {
		ids := make([]string, 0, len(n.Samples))
		for _, id := range n.Samples {
			if n.BinURL != "" {
				ids = append(ids, "["+id+"]("+n.BinURL+"/requests/"+id+")")
			} else {
				ids = append(ids, id)
			}
		}
		body = append(body, text("Sample requests: "+strings.Join(ids, ", ")))
	}
	foot := text(fmt.Sprintf("Started %s · episode %s", n.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), n.EpisodeID))
	foot.Size, foot.Color = "Small", "Default"
	body = append(body, foot)
	card := Card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body}
	card.MSTeams = &struct {
		Width string `json:"width"`
	}{Width: "Full"}
	if n.BinURL != "" {
		card.Actions = []Action{{Type: "Action.OpenUrl", Title: "Open bin " + n.BinID, URL: n.BinURL}}
	}
	return &Message{Type: "message", Attachments: []Attachment{{ContentType: ContentType, Content: card}}}
}
