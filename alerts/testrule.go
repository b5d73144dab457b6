package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// ChannelResult is the outcome of a test notification on one channel.
type ChannelResult struct {
	Type    string `json:"type"`
	URLHint string `json:"url_hint"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// TestRule sends a sample notification of the rule to each of its channels
// and records a "test" event. It answers ErrNotFound for an unknown rule and
// ErrInvalid for a rule without channels.
func (e *Engine) TestRule(ctx context.Context, ruleID string) ([]ChannelResult, error) {
	r := e.rule(ruleID)
	if r == nil {
		return nil, fmt.Errorf("test rule %s: %w", ruleID, schema.ErrNotFound)
	}
	if len(r.Channels) == 0 {
		return nil, fmt.Errorf("%w: rule has no channels to test", schema.ErrInvalid)
	}
	now := e.opt.Now()
	bin := r.Bin()
	if bin == "" {
		bin = "example"
	}
	f := Finding{Observed: r.Params.Threshold, Threshold: r.Params.Threshold, Unit: "",
		Summary: fmt.Sprintf("This is a test notification of rule %q (%s); no alert is firing.", r.Name, r.Kind)}
	episode := "test-" + uuid.Must(uuid.NewV7()).String()
	n := render(r, bin, notify.StateTest, f, episode, now, now, e.opt.PublicURL)
	ev := &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: r.ID, BinID: r.Bin(), State: notify.StateTest, At: now}
	ev.Doc, _ = json.Marshal(EventDoc{Notification: n})
	e.disp.appendEvent(ctx, ev)
	out := make([]ChannelResult, 0, len(r.Channels))
	for _, c := range r.Channels {
		res := ChannelResult{Type: c.Type, URLHint: c.URL.Hint(), OK: true}
		// Someone is waiting on the answer: two attempts, short waits.
		if err := e.disp.deliver(ctx, c, n, ev.ID, 2, 2*time.Second); err != nil {
			res.OK, res.Error = false, err.Error()
		}
		out = append(out, res)
	}
	return out, nil
}
