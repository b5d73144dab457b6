// Package webhook sends alert notifications as a generic JSON document to any
// HTTP endpoint.
package webhook

import (
	"github.com/hookscope/hookscope/alerts/notify"
)

// Options configures the notifier: its HTTP client.
type Options = notify.HTTPOptions

// Notifier posts JSON documents.
type Notifier struct{ notify.JSONNotifier }

var _ notify.Notifier = (*Notifier)(nil)

// New returns the notifier.
func New(opt Options) *Notifier {
	return &Notifier{notify.JSONNotifier{Provider: "webhook", Client: opt.Client, Render: func(n *notify.Notification) any { return Payload{Version: "1", Source: "hookscope", Notification: n} }}}
}

// Payload is the JSON body: a version, the source, and the notification.
type Payload struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	*notify.Notification
}
