package alerts

import (
	"context"
	"errors"
	"time"
)

// Cluster mode: every instance runs an Engine, but only the one holding the
// alert lease evaluates. The others are followers: they start with
// StartFollower (notifiers ready for "test" deliveries, no evaluation) and
// evaluate only inside Lead, which the lease calls for each term it wins:
//
//   - a term begins like Start: rules are loaded from the store, episode
//     states from the StateStore (which the previous leader kept up to date
//     on every transition: an open episode continues, its firing is not
//     announced again, its resolve is not lost, cooldowns hold), windows
//     are rebuilt from the store's history;
//   - the caller feeds Observe from the alerts consumer of the capture log
//     while the term lasts (only the leader opens it);
//   - when the term's context ends (lease lost, not renewed in time,
//     shutdown) evaluation stops before the next rule, and Lead returns.
//
// Notifications already queued when a term ends are still delivered: they
// were decided and their state saved while the lease was held.

// ErrNotFollower: Lead was called on an engine not started with
// StartFollower.
var ErrNotFollower = errors.New("alerts: Lead needs an engine started with StartFollower")

// StartFollower starts the engine without evaluating: notifier workers run
// (rule tests work on every instance), evaluation waits for Lead.
func (e *Engine) StartFollower(ctx context.Context) error {
	err := errors.New("alerts: engine already started")
	e.startOnce.Do(func() {
		e.follower = true
		if lerr := e.LoadRules(ctx); lerr != nil {
			// Not fatal: every term loads them again.
			e.log.Warn("load rules", "err", lerr)
		}
		e.leadCtx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
		e.disp.start(ctx)
		e.log.Info("alert engine started as a follower: evaluates while it holds the alert lease")
		err = nil
	})
	return err
}

// Lead evaluates until ctx ends (or the engine is closed), then returns
// nil. Terms run one at a time. It returns ErrNotFollower on an engine
// started with Start.
func (e *Engine) Lead(ctx context.Context) error {
	if !e.follower {
		return ErrNotFollower
	}
	e.leadMu.Lock()
	defer e.leadMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(e.leadCtx, cancel)()
	// leadCtx itself, not only ctx: AfterFunc on an engine closed already
	// cancels ctx from another goroutine, maybe after this check, and a
	// term must not start on a closed dispatcher.
	if ctx.Err() != nil || e.leadCtx.Err() != nil {
		return nil
	}
	start := time.Now()
	if err := e.LoadRules(ctx); err != nil {
		e.log.Warn("term starts with the rules already known", "err", err)
	}
	// Nothing of a previous term carries over: the store and the
	// StateStore are the truth now.
	e.alert = map[key]*alertState{}
	e.win.reset()
	e.restoreStates(ctx)
	e.win.recover(ctx, e.snapshot())
	e.leading.Store(true)
	defer e.leading.Store(false)
	defer e.firingNow.Store(0)
	e.log.Info("alert evaluation takes over", "rules", len(e.snapshot()), "open_alerts", len(e.alert),
		"recovered_requests", e.win.recoveredN.Load(), "took", time.Since(start).Round(time.Millisecond))
	e.run(ctx)
	e.log.Info("alert evaluation stopped")
	return nil
}

// Leading reports whether the engine evaluates now (always after Start;
// during a term after StartFollower).
func (e *Engine) Leading() bool { return e.leading.Load() }

// reset forgets every window (a new term rebuilds them from history).
func (w *windows) reset() {
	w.bins = map[string]*binBuf{}
	w.recovered = nil
	w.recEnd = time.Time{}
}
