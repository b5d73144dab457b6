// Package discord sends alert notifications to a Discord channel webhook
// ("Execute Webhook": POST https://discord.com/api/webhooks/{id}/{token},
// https://discord.com/developers/docs/resources/webhook#execute-webhook) as
// one embed whose colour is the severity. The embed limits Discord
// documents (https://discord.com/developers/docs/resources/message#embed-object-embed-limits:
// title 256, description 4096, 25 fields of name 256 / value 1024, footer
// 2048, 6000 characters in all) are applied here, because Discord refuses
// the whole message over any of them. Mentions are switched off
// (allowed_mentions with an empty parse list) so captured content can never
// ping @everyone.
package discord

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

// Options configures the notifier.
type Options struct {
	// Client sends the webhook; plug an SSRF-guarded client here. Default:
	// a client with a 10 s timeout.
	Client *http.Client
	// Username shown as the message author; default "hookscope".
	Username string
}

// Notifier posts to Discord webhooks. Discord answers 204 (200 with
// ?wait=true); 429 carries Retry-After, which the engine honours.
type Notifier struct{ notify.JSONNotifier }

var _ notify.Notifier = (*Notifier)(nil)

// New returns a Discord notifier.
func New(opt Options) *Notifier {
	if opt.Username == "" {
		opt.Username = "hookscope"
	}
	return &Notifier{notify.JSONNotifier{Provider: "discord", Client: opt.Client,
		Render: func(n *notify.Notification) any { return Build(n, opt.Username) }}}
}

// Embed colours (0xRRGGBB) by severity and state, as Slack's bar.
const (
	ColorCritical = 0xE01E5A
	ColorWarning  = 0xECB22E
	ColorInfo     = 0x36C5F0
	ColorResolved = 0x2EB67D
)

// Limits Discord enforces on embeds (characters).
const (
	maxTitle       = 256
	maxDescription = 4096
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxFields      = 25
	maxFooter      = 2048
	maxContent     = 2000
)

// Message is the JSON body of an Execute Webhook call.
type Message struct {
	Content         string          `json:"content,omitempty"`
	Username        string          `json:"username,omitempty"`
	Embeds          []Embed         `json:"embeds"`
	AllowedMentions AllowedMentions `json:"allowed_mentions"`
}

// AllowedMentions with an empty Parse list suppresses every mention.
type AllowedMentions struct {
	Parse []string `json:"parse"`
}

// Embed is one rich embed.
type Embed struct {
	Title       string  `json:"title"`
	Description string  `json:"description,omitempty"`
	URL         string  `json:"url,omitempty"`
	Color       int     `json:"color"`
	Fields      []Field `json:"fields,omitempty"`
	Footer      *Footer `json:"footer,omitempty"`
	Timestamp   string  `json:"timestamp,omitempty"` // ISO 8601
}

// Field is one name/value pair of an embed.
type Field struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// Footer is the small text under an embed.
type Footer struct {
	Text string `json:"text"`
}

// Color picks the embed colour for n.
func Color(n *notify.Notification) int {
	return notify.BySeverity(n, ColorCritical, ColorWarning, ColorInfo, ColorResolved)
}

// escape backslash-escapes Discord markdown so captured content (paths,
// user agents) renders as text, not as formatting or masked links.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`,
		">", `\>`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`, "#", `\#`).Replace(s)
}

// Build renders n as a Discord message.
func Build(n *notify.Notification, username string) *Message {
	title := notify.Title(n)
	desc := "**" + escape(n.Summary) + "**"
	if len(n.Details) > 0 {
		lines := make([]string, 0, len(n.Details))
		for _, d := range n.Details {
			lines = append(lines, "• "+escape(d))
		}
		desc += "\n" + strings.Join(lines, "\n")
	}
	field := func(name, value string, inline bool) Field {
		return Field{Name: notify.Truncate(name, maxFieldName), Value: notify.Truncate(value, maxFieldValue), Inline: inline}
	}
	fields := []Field{
		field("Rule", escape(n.RuleName)+" (`"+n.Kind+"`)", true),
		field("Bin", escape(n.BinID), true),
		field("Severity", string(n.Severity), true),
		field("Observed", notify.FormatValue(n.Observed, n.Unit), true),
		field("Threshold", notify.FormatValue(n.Threshold, n.Unit), true),
		field("Window", n.Window, true),
	}
	if n.TopSender != nil {
		fields = append(fields, field("Top sender", fmt.Sprintf("%s (%d requests)", escape(n.TopSender.IP), n.TopSender.Count), true))
	}
	if len(n.Samples) > 0 {
		ids := make([]string, 0, len(n.Samples))
		for _, id := range n.Samples {
			if n.BinURL != "" {
				ids = append(ids, "["+id+"]("+n.BinURL+"/requests/"+id+")")
			} else {
				ids = append(ids, "`"+id+"`")
			}
		}
		fields = append(fields, field("Sample requests", strings.Join(ids, "\n"), false))
	}
	if len(fields) > maxFields {
		fields = fields[:maxFields]
	}
	e := Embed{
		Title:       notify.Truncate(title, maxTitle),
		Description: notify.Truncate(desc, maxDescription),
		URL:         n.BinURL,
		Color:       Color(n),
		Fields:      fields,
		Footer:      &Footer{Text: notify.Truncate(fmt.Sprintf("Started %s · episode %s", n.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), n.EpisodeID), maxFooter)},
		Timestamp:   n.At.UTC().Format(time.RFC3339),
	}
	// The 6000-character budget counts title, description, field names and
	// values and the footer: trim the description, which is the longest.
	if over := embedChars(e) - 6000; over > 0 {
		e.Description = notify.Truncate(e.Description, max(1, len([]rune(e.Description))-over))
	}
	return &Message{
		Content:         notify.Truncate(escape(title), maxContent),
		Username:        username,
		Embeds:          []Embed{e},
		AllowedMentions: AllowedMentions{Parse: []string{}},
	}
}

func embedChars(e Embed) int {
	n := len([]rune(e.Title)) + len([]rune(e.Description))
	for _, f := range e.Fields {
		n += len([]rune(f.Name)) + len([]rune(f.Value))
	}
	if e.Footer != nil {
		n += len([]rune(e.Footer.Text))
	}
	return n
}
