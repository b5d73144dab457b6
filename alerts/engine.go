// Package alerts is hookscope's alerting pipeline, one stage per file:
//
//   - rule.go: rules, their defaults and validation;
//   - window.go: per-bin observation windows and their recovery from history;
//   - detect.go: detectors that turn a window into a Finding;
//   - state.go: the pure state machine (inactive → pending → firing →
//     resolved) and dedup/cooldown decision, and the serialisable
//     EpisodeState behind the small StateStore interface;
//   - evaluate.go: every rule × bin through its detector and the state machine;
//   - render.go: the provider-neutral notify.Notification of a transition;
//   - dispatch.go: event recording, retries with backoff honouring
//     Retry-After, fan-out to the notifiers the caller registered;
//   - service.go: what the HTTP layer calls with decoded, typed values.
//
// Each notifier (slack, webhook, discord, teams, pagerduty, email) is its
// own package rendering its own payload; the caller builds them and hands
// them over as Notifiers, so this package imports none of them.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// History is the part of a store the engine reads to rebuild its windows
// after a restart. Both stores implement it.
type History interface {
	ListBins(ctx context.Context) ([]*schema.Bin, error)
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
}

// RuleStore is what the engine reads rules from and records events in.
// schema.Alerts implements it.
type RuleStore interface {
	ListRules(ctx context.Context) ([]*schema.AlertRule, error)
	EventLog
}

// EventLog records alert events and lists them newest first.
type EventLog interface {
	AppendEvent(ctx context.Context, e *schema.AlertEvent) error
	ListEvents(ctx context.Context, f schema.EventFilter) ([]*schema.AlertEvent, error)
}

// Notifiers is the registry of notifiers by channel type ("slack",
// "webhook", ...). The caller builds it (cmd/hookscope wires the SSRF-guarded
// client into each); a channel whose type has no notifier fails delivery.
type Notifiers map[string]notify.Notifier

// Types returns the registered channel types, sorted.
func (n Notifiers) Types() []string {
	out := make([]string, 0, len(n))
	for t := range n {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Event states besides notify.StateFiring / StateResolved / StateTest.
const StateNotifyFailed = "notify_failed"

// Options configures an Engine. Zero values take the documented defaults.
type Options struct {
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // default time.Now

	// PublicURL is the inspector's base URL; notifications link to
	// PublicURL/bins/{bin}. Empty: no links.
	PublicURL string

	// Notifiers by channel type. nil: none (every delivery fails).
	Notifiers Notifiers

	// States keeps episode states across restarts and evaluator handovers.
	// nil: restored from the newest firing/resolved events (EventStates).
	States StateStore

	QueueSize     int           // observations buffered between Observe and the engine; default 65536
	EvalInterval  time.Duration // default 1s
	MaxObsPerBin  int           // observations kept per bin; default 100000
	MaxRecovery   time.Duration // most history replayed at start; default 2h
	BinIdle       time.Duration // forget a quiet bin after; default 24h
	NotifyWorkers int           // default 4
	NotifyQueue   int           // per worker; default 256
	RetryInitial  time.Duration // first backoff; default 1s
	RetryMax      time.Duration // backoff cap; default 1m
	RetryAttempts int           // attempts per channel; default 5
	MaxRetryAfter time.Duration // longest Retry-After honoured; default 5m
	StoreTimeout  time.Duration // per store call; default 10s

	// OnEvent, when set, is told of every event once it is recorded
	// (firing, resolved, test, notify_failed), from a dispatch worker: it
	// must not block (the live feed hands it to its hub or to NATS).
	OnEvent func(*schema.AlertEvent)
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Notifiers == nil {
		o.Notifiers = Notifiers{}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueueSize, 65536)
	def(&o.MaxObsPerBin, 100_000)
	def(&o.NotifyWorkers, 4)
	def(&o.NotifyQueue, 256)
	def(&o.RetryAttempts, 5)
	defd(&o.EvalInterval, time.Second)
	defd(&o.MaxRecovery, 2*time.Hour)
	defd(&o.BinIdle, 24*time.Hour)
	defd(&o.RetryInitial, time.Second)
	defd(&o.RetryMax, time.Minute)
	defd(&o.MaxRetryAfter, 5*time.Minute)
	defd(&o.StoreTimeout, 10*time.Second)
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
}

// Stats are the engine's counters.
type Stats struct {
	Observed          int64 `json:"observed"`
	Dropped           int64 `json:"dropped"`            // Observe found the queue full
	Evaluations       int64 `json:"evaluations"`        // (rule, bin) evaluations
	Firing            int64 `json:"firing"`             // episodes entered
	Suppressed        int64 `json:"suppressed"`         // episodes kept silent by cooldown
	NotifyFailed      int64 `json:"notify_failed"`      // channel deliveries given up
	NotifyQueueDrops  int64 `json:"notify_queue_drops"` // notifications dropped on a full queue
	RecoveredRequests int64 `json:"recovered_requests"`
	// Trimmed counts observations forgotten early because a bin exceeded
	// MaxObsPerBin (its windows are then shorter than configured).
	Trimmed int64 `json:"trimmed"`
}

// Engine evaluates alert rules on the stream of captured requests. It wires
// the stages: Observe feeds the windows, the run loop evaluates every
// EvalInterval, transitions go to the dispatcher.
type Engine struct {
	store  RuleStore
	states StateStore
	opt    Options
	log    *slog.Logger

	in chan input

	mu    sync.Mutex
	rules map[string]*Rule

	// owned by the run goroutine
	win   *windows
	alert map[key]*alertState

	disp *dispatcher

	observed, dropped, evals, firing, suppressed, firingNow atomic.Int64

	startOnce sync.Once
	cancel    context.CancelFunc
	runDone   chan struct{}

	// Follower mode (cluster): see lead.go.
	follower bool
	hist     History
	leadCtx  context.Context // ends on Close
	leadMu   sync.Mutex      // held by the running term; Close waits on it
	leading  atomic.Bool
}

// New returns an engine reading rules and writing events through store and
// rebuilding windows from hist. Call Start before capture begins.
func New(store RuleStore, hist History, opt Options) *Engine {
	opt.defaults()
	log := opt.Logger.With("component", "alerts")
	states := opt.States
	if states == nil {
		states = EventStates{Events: store, Timeout: opt.StoreTimeout}
	}
	e := &Engine{
		store:   store,
		states:  states,
		opt:     opt,
		log:     log,
		in:      make(chan input, opt.QueueSize),
		rules:   map[string]*Rule{},
		win:     newWindows(hist, &opt, log),
		hist:    hist,
		alert:   map[key]*alertState{},
		runDone: make(chan struct{}),
	}
	e.disp = newDispatcher(store, &e.opt, log)
	return e
}

// Observe hands one captured request to the engine. It never blocks: when
// the queue is full the request is dropped and counted (Stats.Dropped).
func (e *Engine) Observe(r *schema.Request) {
	if r == nil {
		return
	}
	select {
	case e.in <- input{bin: r.BinID, o: ObsOf(r)}:
		e.observed.Add(1)
	default:
		e.dropped.Add(1)
	}
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{
		Observed: e.observed.Load(), Dropped: e.dropped.Load(), Evaluations: e.evals.Load(),
		Firing: e.firing.Load(), Suppressed: e.suppressed.Load(), NotifyFailed: e.disp.failed.Load(),
		NotifyQueueDrops: e.disp.queueDrops.Load(), RecoveredRequests: e.win.recoveredN.Load(), Trimmed: e.win.trimmed.Load(),
	}
}

// SetRule adds or replaces a rule (the service calls it after storing).
func (e *Engine) SetRule(r *Rule) {
	c := *r
	e.mu.Lock()
	e.rules[r.ID] = &c
	e.mu.Unlock()
}

// RemoveRule forgets a rule; its alerts end silently.
func (e *Engine) RemoveRule(id string) {
	e.mu.Lock()
	delete(e.rules, id)
	e.mu.Unlock()
}

func (e *Engine) rule(id string) *Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rules[id]
}

func (e *Engine) snapshot() []*Rule {
	e.mu.Lock()
	out := make([]*Rule, 0, len(e.rules))
	for _, r := range e.rules {
		out = append(out, r)
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Start loads the rules, restores the state of alerts that were firing,
// replays recent history into the windows, and starts evaluating. Recovery
// problems are logged, not fatal: the engine then starts with empty windows.
func (e *Engine) Start(ctx context.Context) error {
	err := errors.New("alerts: engine already started")
	e.startOnce.Do(func() { err = e.start(ctx) })
	return err
}

func (e *Engine) start(ctx context.Context) error {
	if err := e.LoadRules(ctx); err != nil {
		return err
	}
	e.restoreStates(ctx)
	e.win.recover(ctx, e.snapshot())

	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancelRun
	e.disp.start(ctx)
	e.leading.Store(true)
	go func() { defer close(e.runDone); e.run(runCtx) }()
	e.log.Info("alert engine started", "rules", len(e.snapshot()), "recovered_requests", e.win.recoveredN.Load())
	return nil
}

// LoadRules replaces the engine's rules with the stored ones (a rule that
// does not decode is skipped and logged). Start and every leader term call
// it; in cluster mode it also runs when another instance changed a rule.
func (e *Engine) LoadRules(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, e.opt.StoreTimeout)
	stored, err := e.store.ListRules(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("alerts: load rules: %w", err)
	}
	rules := make(map[string]*Rule, len(stored))
	for _, s := range stored {
		r, err := fromStored(s)
		if err != nil {
			e.log.Warn("skip undecodable rule", "rule_id", s.ID, "err", err)
			continue
		}
		rules[r.ID] = r
	}
	e.mu.Lock()
	e.rules = rules
	e.mu.Unlock()
	return nil
}

// restoreStates loads the episode states of the rules still known.
func (e *Engine) restoreStates(ctx context.Context) {
	ids := make([]string, 0)
	for _, r := range e.snapshot() {
		ids = append(ids, r.ID)
	}
	sts, err := e.states.LoadStates(ctx, ids)
	if err != nil {
		e.log.Warn("restore alert states", "err", err)
	}
	for _, s := range sts {
		e.alert[key{s.RuleID, s.BinID}] = stateFrom(s)
	}
}

// Close stops evaluating, then lets the notifier workers finish what is
// queued until ctx is done.
func (e *Engine) Close(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	if e.follower {
		// A running term ends with leadCtx; wait for it.
		e.leadMu.Lock()
		//nolint:staticcheck // empty critical section: waiting for the term
		e.leadMu.Unlock()
	} else {
		<-e.runDone
	}
	return e.disp.close(ctx)
}

// run takes observations and evaluates every EvalInterval until ctx ends.
func (e *Engine) run(ctx context.Context) {
	t := time.NewTicker(e.opt.EvalInterval)
	defer t.Stop()
	var lastDropped int64
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-e.in:
			e.win.ingest(in)
			// Take what is already queued, but never so much that the
			// ticker starves under sustained load.
			for range 4096 {
				select {
				case in := <-e.in:
					e.win.ingest(in)
					continue
				default:
				}
				break
			}
		case <-t.C:
			e.evaluate(ctx)
			if d := e.dropped.Load(); d != lastDropped {
				e.log.Warn("alert queue full, observations dropped", "dropped_total", d)
				lastDropped = d
			}
		}
	}
}
