package alerts

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
)

// evaluate runs every enabled rule on every bin it watches, then forgets
// the states of rules that are gone and prunes the windows.
func (e *Engine) evaluate(ctx context.Context) {
	now := e.opt.Now()
	rules := e.snapshot()
	keep := time.Minute
	live := map[key]bool{}
	for _, r := range rules {
		if ctx.Err() != nil {
			return // the term ended (or the engine closes): decide nothing more
		}
		if !r.Enabled {
			continue
		}
		keep = max(keep, 2*r.Params.Window.D()+time.Minute)
		targets := []string{r.Bin()}
		if r.Bin() == "" {
			targets = e.win.binIDs()
		}
		for _, bin := range targets {
			k := key{r.ID, bin}
			live[k] = true
			e.evalOne(ctx, r, bin, k, now)
		}
	}
	for k, st := range e.alert {
		if !live[k] {
			if st.Phase == Firing && st.Announced {
				e.log.Info("alert dropped with its rule", "rule_id", k.rule, "bin_id", k.bin, "episode_id", st.EpisodeID)
			}
			delete(e.alert, k)
		}
	}
	var firingNow int64
	for _, st := range e.alert {
		if st.Phase == Firing {
			firingNow++
		}
	}
	e.firingNow.Store(firingNow)
	e.win.prune(now, keep)
}

// evalOne moves one (rule, bin) through detector → state machine → dedup
// decision, and hands announced transitions to the dispatcher.
func (e *Engine) evalOne(ctx context.Context, r *Rule, bin string, k key, now time.Time) {
	st := e.alert[k]
	if st == nil {
		st = &alertState{EpisodeState: EpisodeState{RuleID: r.ID, BinID: bin}}
		e.alert[k] = st
	}
	if st.det == nil || !st.ruleStamp.Equal(r.UpdatedAt) {
		d, err := newDetector(r)
		if err != nil {
			e.log.Warn("rule cannot be evaluated", "rule_id", r.ID, "err", err)
			return
		}
		st.det, st.ruleStamp = d, r.UpdatedAt
	}
	f := st.det.eval(e.win.obs(bin), now)
	e.evals.Add(1)
	st.last = f
	phase, since, tr := Step(st.Phase, st.Since, f.Active, now, r.For.D())
	st.Phase, st.Since = phase, since
	var tell string // the notification this transition announces, if any
	switch tr {
	case BecameFiring:
		e.firing.Add(1)
		st.EpisodeID = uuid.Must(uuid.NewV7()).String()
		st.StartedAt = now
		st.Announced = announce(st.LastAnnounced, now, r.Cooldown.D())
		if !st.Announced {
			e.suppressed.Add(1)
			e.log.Info("alert firing within cooldown, not announced", "rule_id", r.ID, "bin_id", bin, "episode_id", st.EpisodeID)
			break
		}
		st.LastAnnounced = now
		tell = notify.StateFiring
	case BecameResolved:
		if st.Announced {
			tell = notify.StateResolved
		}
		st.Announced = false
	}
	if tr != NoChange {
		// Saved before the notification is queued: an evaluator taking
		// over from here on (cluster mode) continues this episode instead
		// of announcing it again.
		if err := e.states.SaveState(ctx, st.EpisodeState); err != nil {
			e.log.Warn("save alert state", "rule_id", r.ID, "bin_id", bin, "err", err)
		}
	}
	if tell != "" {
		e.emit(r, bin, st, f, tell, now)
	}
}

// emit renders a transition and queues it for the dispatcher.
func (e *Engine) emit(r *Rule, bin string, st *alertState, f Finding, state string, now time.Time) {
	n := render(r, bin, state, f, st.EpisodeID, st.StartedAt, now, e.opt.PublicURL)
	e.log.Info("alert "+state, "rule_id", r.ID, "bin_id", bin, "episode_id", st.EpisodeID, "observed", f.Observed, "threshold", f.Threshold)
	e.disp.enqueue(r, n, now)
}
