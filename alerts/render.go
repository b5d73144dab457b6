package alerts

import (
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

// render builds the provider-neutral notification of a rule on a bin; each
// notifier package renders it into its provider's payload.
func render(r *Rule, bin string, state string, f Finding, episode string, started, now time.Time, publicURL string) *notify.Notification {
	n := &notify.Notification{
		State: state, EpisodeID: episode, RuleID: r.ID, RuleName: r.Name, Kind: string(r.Kind),
		Severity: r.Severity, BinID: bin, Summary: f.Summary, Details: f.Details,
		Observed: f.Observed, Threshold: f.Threshold, Unit: f.Unit, Window: r.Params.Window.String(),
		Samples: []string{}, TopSender: f.TopSender, StartedAt: started, At: now,
	}
	if publicURL != "" {
		n.BinURL = publicURL + "/bins/" + bin
	}
	for _, id := range f.Samples {
		n.Samples = append(n.Samples, id.String())
	}
	return n
}
