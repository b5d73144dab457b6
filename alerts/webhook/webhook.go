// Package webhook sends alert notifications as a generic JSON document to any
// HTTP endpoint.
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

// Options configures the notifier.
type Options struct {
	// Client sends the request; plug an SSRF-guarded client here. Default:
	// a client with a 10 s timeout.
	Client *http.Client
}

// Notifier posts JSON documents.
type Notifier struct{ client *http.Client }

var _ notify.Notifier = (*Notifier)(nil)

// New returns a generic webhook notifier.
func New(opt Options) *Notifier {
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Notifier{client: opt.Client}
}

// Payload is the JSON body: a version, the source, and the notification.
type Payload struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	*notify.Notification
}

// Notify posts n to dest.
func (w *Notifier) Notify(ctx context.Context, dest notify.URL, n *notify.Notification) (bool, error) {
	body, err := json.Marshal(Payload{Version: "1", Source: "hookscope", Notification: n})
	if err != nil {
		return false, fmt.Errorf("webhook: encode payload: %w", err)
	}
	retry, err := notify.PostJSON(ctx, w.client, dest, body)
	if err != nil {
		return retry, fmt.Errorf("webhook: %w", err)
	}
	return false, nil
}
