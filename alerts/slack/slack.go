// Package slack sends alert notifications to a Slack incoming webhook as a
// Block Kit message: top-level text (the fallback Slack shows in
// notifications) and blocks, plus a coloured attachment carrying the details,
// because only attachments can show a severity colour bar.
package slack

import (
	"fmt"
	"strings"

	"github.com/hookscope/hookscope/alerts/notify"
)

// Options configures the notifier: its HTTP client.
type Options = notify.HTTPOptions

// Notifier posts to Slack incoming webhooks.
type Notifier struct{ notify.JSONNotifier }

var _ notify.Notifier = (*Notifier)(nil)

// New returns the notifier.
func New(opt Options) *Notifier {
	return &Notifier{notify.JSONNotifier{Provider: "slack", Client: opt.Client, Render: func(n *notify.Notification) any { return Build(n) }}}
}

// Colours of the attachment bar by severity and state.
const (
	ColorCritical = "#E01E5A"
	ColorWarning  = "#ECB22E"
	ColorInfo     = "#36C5F0"
	ColorResolved = "#2EB67D"
)

// Message is the JSON body of an incoming-webhook post.
type Message struct {
	Text        string       `json:"text"`
	Blocks      []Block      `json:"blocks"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment carries the colour bar and its own blocks.
type Attachment struct {
	Color  string  `json:"color"`
	Blocks []Block `json:"blocks"`
}

// Block is one Block Kit layout block (header, section, context, divider).
type Block struct {
	Type     string  `json:"type"`
	Text     *Text   `json:"text,omitempty"`
	Fields   []*Text `json:"fields,omitempty"`
	Elements []*Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

func plain(s string) *Text  { return &Text{Type: "plain_text", Text: truncate(s, 150)} }
func mrkdwn(s string) *Text { return &Text{Type: "mrkdwn", Text: truncate(s, 3000)} }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// escape applies Slack's mrkdwn escaping for &, < and > so captured content
// (paths, user agents) cannot inject links or mentions.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Color picks the attachment colour for n.
func Color(n *notify.Notification) string {
	return notify.BySeverity(n, ColorCritical, ColorWarning, ColorInfo, ColorResolved)
}

// Build renders n as a Slack message.
func Build(n *notify.Notification) *Message {
	title := notify.Title(n)
	text := title + " — " + n.Summary
	summary := "*" + escape(n.Summary) + "*"
	if n.BinURL != "" {
		summary += "\n<" + n.BinURL + "|Open bin " + escape(n.BinID) + " in hookscope>"
	}
	blocks := []Block{
		{Type: "header", Text: plain(title)},
		{Type: "section", Text: mrkdwn(summary)},
	}
	fields := []*Text{
		mrkdwn("*Rule*\n" + escape(n.RuleName) + " (`" + n.Kind + "`)"),
		mrkdwn("*Bin*\n`" + escape(n.BinID) + "`"),
		mrkdwn(fmt.Sprintf("*Observed*\n%s", notify.FormatValue(n.Observed, n.Unit))),
		mrkdwn(fmt.Sprintf("*Threshold*\n%s", notify.FormatValue(n.Threshold, n.Unit))),
		mrkdwn("*Window*\n" + n.Window),
		mrkdwn("*Severity*\n" + string(n.Severity)),
	}
	if n.TopSender != nil {
		fields = append(fields, mrkdwn(fmt.Sprintf("*Top sender*\n`%s` (%d requests)", escape(n.TopSender.IP), n.TopSender.Count)))
	}
	detail := []Block{{Type: "section", Fields: fields}}
	if len(n.Details) > 0 {
		lines := make([]string, 0, len(n.Details))
		for _, d := range n.Details {
			lines = append(lines, "• "+escape(d))
		}
		detail = append(detail, Block{Type: "section", Text: mrkdwn(strings.Join(lines, "\n"))})
	}
	if len(n.Samples) > 0 {
		ids := make([]string, 0, len(n.Samples))
		for _, id := range n.Samples {
			if n.BinURL != "" {
				ids = append(ids, "<"+n.BinURL+"/requests/"+id+"|"+id+">")
			} else {
				ids = append(ids, "`"+id+"`")
			}
		}
		detail = append(detail, Block{Type: "context", Elements: []*Text{mrkdwn("Sample requests: " + strings.Join(ids, ", "))}})
	}
	detail = append(detail, Block{Type: "context", Elements: []*Text{mrkdwn(fmt.Sprintf("Started %s · episode %s", n.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), n.EpisodeID))}})
	return &Message{
		Text:        text,
		Blocks:      blocks,
		Attachments: []Attachment{{Color: Color(n), Blocks: detail}},
	}
}
