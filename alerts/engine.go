// Package alerts is hookscope's alerting engine: rules (rule.go), detectors
// that turn a bin's recent requests into findings (detect.go), the state
// machine with dedup and cooldown (state.go), the engine that evaluates
// rules continuously on the live stream and fans notifications out to the
// notifier packages (engine.go), and the service the HTTP layer calls
// (service.go).
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/alerts/slack"
	"github.com/hookscope/hookscope/alerts/webhook"
	"github.com/hookscope/hookscope/schema"
)

// History is the part of a store the engine reads to rebuild its windows
// after a restart. Both stores implement it.
type History interface {
	ListBins(ctx context.Context) ([]*schema.Bin, error)
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
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

	// Notifiers by channel type. Default: slack and webhook using HTTPClient.
	Notifiers map[string]notify.Notifier
	// HTTPClient for the default notifiers (plug the SSRF guard here).
	HTTPClient *http.Client

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
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Notifiers == nil {
		o.Notifiers = map[string]notify.Notifier{
			ChannelSlack:   slack.New(slack.Options{Client: o.HTTPClient}),
			ChannelWebhook: webhook.New(webhook.Options{Client: o.HTTPClient}),
		}
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

type input struct {
	bin string
	o   Obs
}

type key struct{ rule, bin string }

type alertState struct {
	det       detector
	ruleStamp time.Time // UpdatedAt of the rule the detector was built from
	phase     Phase
	since     time.Time
	episode   string
	started   time.Time
	announced bool      // this episode was announced
	lastAnn   time.Time // last announced firing
	last      Finding
}

type binBuf struct {
	obs  []Obs
	last time.Time // wall time of the last observation
}

type job struct {
	event    *schema.AlertEvent
	n        *notify.Notification
	channels []Channel
}

// Engine evaluates alert rules on the stream of captured requests.
type Engine struct {
	store schema.Alerts
	hist  History
	opt   Options
	log   *slog.Logger

	in chan input

	mu    sync.Mutex
	rules map[string]*Rule

	// owned by the run goroutine
	bins      map[string]*binBuf
	states    map[key]*alertState
	recovered map[uuid.UUID]struct{}
	recEnd    time.Time

	workers []chan job

	observed, dropped, evals, firing, suppressed, notifyFailed, queueDrops, recoveredN, firingNow, trimmed atomic.Int64

	startOnce     sync.Once
	cancel        context.CancelFunc
	cancelWorkers context.CancelFunc
	runDone       chan struct{}
	workersWG     sync.WaitGroup
	evalHook      func() // tests: called after each evaluation round
}

// New returns an engine reading rules and writing events through store and
// rebuilding windows from hist. Call Start before capture begins.
func New(store schema.Alerts, hist History, opt Options) *Engine {
	opt.defaults()
	e := &Engine{
		store:   store,
		hist:    hist,
		opt:     opt,
		log:     opt.Logger.With("component", "alerts"),
		in:      make(chan input, opt.QueueSize),
		rules:   map[string]*Rule{},
		bins:    map[string]*binBuf{},
		states:  map[key]*alertState{},
		runDone: make(chan struct{}),
	}
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
		Firing: e.firing.Load(), Suppressed: e.suppressed.Load(), NotifyFailed: e.notifyFailed.Load(),
		NotifyQueueDrops: e.queueDrops.Load(), RecoveredRequests: e.recoveredN.Load(), Trimmed: e.trimmed.Load(),
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
	sctx, cancel := context.WithTimeout(ctx, e.opt.StoreTimeout)
	stored, err := e.store.ListRules(sctx)
	cancel()
	if err != nil {
		return fmt.Errorf("alerts: load rules: %w", err)
	}
	for _, s := range stored {
		r, err := fromStored(s)
		if err != nil {
			e.log.Warn("skip undecodable rule", "rule_id", s.ID, "err", err)
			continue
		}
		e.SetRule(r)
	}
	e.restoreStates(ctx)
	e.recover(ctx)

	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancelRun
	// Workers outlive the run loop so Close can let them drain.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	e.cancelWorkers = cancelWork
	for range e.opt.NotifyWorkers {
		ch := make(chan job, e.opt.NotifyQueue)
		e.workers = append(e.workers, ch)
		e.workersWG.Add(1)
		go e.worker(workCtx, ch)
	}
	go e.run(runCtx)
	e.log.Info("alert engine started", "rules", len(stored), "recovered_requests", e.recoveredN.Load())
	return nil
}

// Close stops evaluating, then lets the notifier workers finish what is
// queued until ctx is done.
func (e *Engine) Close(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	<-e.runDone
	for _, ch := range e.workers {
		close(ch)
	}
	done := make(chan struct{})
	go func() { e.workersWG.Wait(); close(done) }()
	select {
	case <-done:
		e.cancelWorkers()
		return nil
	case <-ctx.Done():
		e.cancelWorkers() // abandon retries; pending jobs are dropped quickly
		<-done
		return fmt.Errorf("alerts: close: notifications still pending: %w", ctx.Err())
	}
}

// restoreStates marks alerts whose last stored event is "firing" as firing,
// so a restart neither re-announces them nor forgets to resolve them.
func (e *Engine) restoreStates(ctx context.Context) {
	for _, r := range e.snapshot() {
		sctx, cancel := context.WithTimeout(ctx, e.opt.StoreTimeout)
		evs, err := e.store.ListEvents(sctx, schema.EventFilter{RuleID: r.ID, Limit: 200})
		cancel()
		if err != nil {
			e.log.Warn("restore alert states", "rule_id", r.ID, "err", err)
			continue
		}
		done := map[string]bool{}
		for _, ev := range evs { // newest first
			if ev.State != notify.StateFiring && ev.State != notify.StateResolved {
				continue
			}
			if done[ev.BinID] {
				continue
			}
			done[ev.BinID] = true
			if ev.State != notify.StateFiring {
				continue
			}
			var d EventDoc
			_ = json.Unmarshal(ev.Doc, &d)
			e.states[key{r.ID, ev.BinID}] = &alertState{phase: Firing, since: ev.At, started: ev.At,
				episode: d.EpisodeID, announced: true, lastAnn: ev.At}
		}
	}
}

// recover replays recent requests of the bins the rules watch.
func (e *Engine) recover(ctx context.Context) {
	now := e.opt.Now()
	e.recEnd = now
	rules := e.snapshot()
	lookback := map[string]time.Duration{} // bin -> lookback; "" = every bin
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		d, err := newDetector(r)
		if err != nil {
			continue
		}
		lb := min(d.lookback()+r.Params.Window.D(), e.opt.MaxRecovery)
		lookback[r.Bin()] = max(lookback[r.Bin()], lb)
	}
	if len(lookback) == 0 {
		return
	}
	var bins []string
	if _, all := lookback[""]; all {
		sctx, cancel := context.WithTimeout(ctx, e.opt.StoreTimeout)
		bs, err := e.hist.ListBins(sctx)
		cancel()
		if err != nil {
			e.log.Warn("recover: list bins", "err", err)
		}
		for _, b := range bs {
			if !b.Expired(now) {
				bins = append(bins, b.ID)
			}
		}
	}
	for b := range lookback {
		if b != "" && !slices.Contains(bins, b) {
			bins = append(bins, b)
		}
	}
	e.recovered = map[uuid.UUID]struct{}{}
	for _, bin := range bins {
		lb := max(lookback[bin], lookback[""])
		since := now.Add(-lb)
		// Newest first, so a bin with more than MaxObsPerBin keeps its
		// most recent requests.
		var got []*schema.Request
		f := schema.Filter{BinID: bin, Since: since, Until: now, Limit: 1000}
		for len(got) < e.opt.MaxObsPerBin {
			sctx, cancel := context.WithTimeout(ctx, e.opt.StoreTimeout)
			page, err := e.hist.ListRequests(sctx, f)
			cancel()
			if err != nil {
				e.log.Warn("recover: list requests", "bin_id", bin, "err", err)
				break
			}
			got = append(got, page.Requests...)
			if page.Next == nil || len(page.Requests) == 0 {
				break
			}
			f.Before = page.Next
		}
		if len(got) > e.opt.MaxObsPerBin {
			got = got[:e.opt.MaxObsPerBin]
		}
		buf := &binBuf{obs: make([]Obs, 0, len(got))}
		for i := len(got) - 1; i >= 0; i-- {
			r := got[i]
			buf.add(ObsOf(r))
			if !r.ReceivedAt.Before(now.Add(-time.Minute)) {
				e.recovered[r.ID] = struct{}{}
			}
		}
		e.recoveredN.Add(int64(len(got)))
		if len(buf.obs) > 0 {
			buf.last = now
			e.bins[bin] = buf
		}
	}
}

func (b *binBuf) add(o Obs) {
	n := len(b.obs)
	if n == 0 || !o.At.Before(b.obs[n-1].At) {
		b.obs = append(b.obs, o)
		return
	}
	i, _ := slices.BinarySearchFunc(b.obs, o.At, func(x Obs, t time.Time) int {
		if x.At.After(t) {
			return 1
		}
		return -1
	})
	b.obs = slices.Insert(b.obs, i, o)
}

func (e *Engine) run(ctx context.Context) {
	defer close(e.runDone)
	t := time.NewTicker(e.opt.EvalInterval)
	defer t.Stop()
	var lastDropped int64
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-e.in:
			e.ingest(in)
			// Take what is already queued, but never so much that the
			// ticker starves under sustained load.
			for range 4096 {
				select {
				case in := <-e.in:
					e.ingest(in)
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

func (e *Engine) ingest(in input) {
	if e.recovered != nil {
		if _, dup := e.recovered[in.o.ID]; dup {
			return
		}
		if in.o.At.After(e.recEnd.Add(time.Minute)) {
			e.recovered = nil
		}
	}
	b := e.bins[in.bin]
	if b == nil {
		b = &binBuf{}
		e.bins[in.bin] = b
	}
	b.add(in.o)
	b.last = e.opt.Now()
	if over := len(b.obs) - e.opt.MaxObsPerBin; over > 0 {
		// Drop the oldest tenth at once: one copy per MaxObsPerBin/10
		// observations instead of one per observation.
		b.obs = slices.Delete(b.obs, 0, over+e.opt.MaxObsPerBin/10)
		e.trimmed.Add(int64(over + e.opt.MaxObsPerBin/10))
	}
}

// evaluate runs every enabled rule on every bin it watches.
func (e *Engine) evaluate(ctx context.Context) {
	now := e.opt.Now()
	rules := e.snapshot()
	keep := time.Minute
	live := map[key]bool{}
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		keep = max(keep, 2*r.Params.Window.D()+time.Minute)
		var targets []string
		if b := r.Bin(); b != "" {
			targets = []string{b}
		} else {
			for b := range e.bins {
				targets = append(targets, b)
			}
			slices.Sort(targets)
		}
		for _, bin := range targets {
			k := key{r.ID, bin}
			live[k] = true
			e.evalOne(ctx, r, bin, k, now)
		}
	}
	for k, st := range e.states {
		if !live[k] {
			if st.phase == Firing && st.announced {
				e.log.Info("alert dropped with its rule", "rule_id", k.rule, "bin_id", k.bin, "episode_id", st.episode)
			}
			delete(e.states, k)
		}
	}
	var firingNow int64
	for _, st := range e.states {
		if st.phase == Firing {
			firingNow++
		}
	}
	e.firingNow.Store(firingNow)
	cut := now.Add(-keep)
	for bin, b := range e.bins {
		i, _ := slices.BinarySearchFunc(b.obs, cut, func(x Obs, t time.Time) int {
			if x.At.After(t) {
				return 1
			}
			return -1
		})
		if i > 0 {
			b.obs = slices.Delete(b.obs, 0, i)
		}
		if len(b.obs) == 0 && now.Sub(b.last) > e.opt.BinIdle {
			delete(e.bins, bin)
		}
	}
}

func (e *Engine) evalOne(ctx context.Context, r *Rule, bin string, k key, now time.Time) {
	st := e.states[k]
	if st == nil {
		st = &alertState{}
		e.states[k] = st
	}
	if st.det == nil || !st.ruleStamp.Equal(r.UpdatedAt) {
		d, err := newDetector(r)
		if err != nil {
			e.log.Warn("rule cannot be evaluated", "rule_id", r.ID, "err", err)
			return
		}
		st.det, st.ruleStamp = d, r.UpdatedAt
	}
	var obs []Obs
	if b := e.bins[bin]; b != nil {
		obs = b.obs
	}
	f := st.det.eval(obs, now)
	e.evals.Add(1)
	st.last = f
	phase, since, tr := Step(st.phase, st.since, f.Active, now, r.For.D())
	st.phase, st.since = phase, since
	switch tr {
	case BecameFiring:
		e.firing.Add(1)
		st.episode = uuid.Must(uuid.NewV7()).String()
		st.started = now
		st.announced = announce(st.lastAnn, now, r.Cooldown.D())
		if !st.announced {
			e.suppressed.Add(1)
			e.log.Info("alert firing within cooldown, not announced", "rule_id", r.ID, "bin_id", bin, "episode_id", st.episode)
			return
		}
		st.lastAnn = now
		e.emit(r, bin, st, f, notify.StateFiring, now)
	case BecameResolved:
		if st.announced {
			e.emit(r, bin, st, f, notify.StateResolved, now)
		}
		st.announced = false
	}
}

// Notification renders the notification of a rule on a bin.
func (e *Engine) notification(r *Rule, bin string, state string, f Finding, episode string, started, now time.Time) *notify.Notification {
	n := &notify.Notification{
		State: state, EpisodeID: episode, RuleID: r.ID, RuleName: r.Name, Kind: string(r.Kind),
		Severity: r.Severity, BinID: bin, Summary: f.Summary, Details: f.Details,
		Observed: f.Observed, Threshold: f.Threshold, Unit: f.Unit, Window: r.Params.Window.String(),
		Samples: []string{}, TopSender: f.TopSender, StartedAt: started, At: now,
	}
	if e.opt.PublicURL != "" {
		n.BinURL = e.opt.PublicURL + "/bins/" + bin
	}
	for _, id := range f.Samples {
		n.Samples = append(n.Samples, id.String())
	}
	return n
}

func (e *Engine) emit(r *Rule, bin string, st *alertState, f Finding, state string, now time.Time) {
	n := e.notification(r, bin, state, f, st.episode, st.started, now)
	doc, _ := json.Marshal(EventDoc{Notification: n})
	ev := &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: r.ID, BinID: bin, State: state, At: now, Doc: doc}
	e.log.Info("alert "+state, "rule_id", r.ID, "bin_id", bin, "episode_id", st.episode, "observed", f.Observed, "threshold", f.Threshold)
	h := fnv.New32a()
	_, _ = h.Write([]byte(r.ID + "\x00" + bin))
	ch := e.workers[int(h.Sum32())%len(e.workers)]
	select {
	case ch <- job{event: ev, n: n, channels: slices.Clone(r.Channels)}:
	default:
		e.queueDrops.Add(1)
		e.log.Error("notification queue full, alert event dropped", "rule_id", r.ID, "bin_id", bin, "state", state)
	}
}

func (e *Engine) worker(ctx context.Context, ch <-chan job) {
	defer e.workersWG.Done()
	for j := range ch {
		e.appendEvent(ctx, j.event)
		for _, c := range j.channels {
			e.deliver(ctx, c, j.n, j.event.ID)
		}
	}
}

func (e *Engine) appendEvent(ctx context.Context, ev *schema.AlertEvent) {
	sctx, cancel := context.WithTimeout(ctx, e.opt.StoreTimeout)
	defer cancel()
	if err := e.store.AppendEvent(sctx, ev); err != nil {
		e.log.Error("store alert event", "rule_id", ev.RuleID, "bin_id", ev.BinID, "state", ev.State, "err", err)
	}
}

// deliver sends n to one channel with retries and records a notify_failed
// event when it gives up. It returns the last error (nil on success).
func (e *Engine) deliver(ctx context.Context, c Channel, n *notify.Notification, forEvent uuid.UUID) error {
	return e.deliverWith(ctx, c, n, forEvent, e.opt.RetryAttempts, e.opt.MaxRetryAfter)
}

func (e *Engine) deliverWith(ctx context.Context, c Channel, n *notify.Notification, forEvent uuid.UUID, attemptsMax int, maxWait time.Duration) error {
	attempts, err := e.send(ctx, c, n, attemptsMax, maxWait)
	if err == nil {
		return nil
	}
	e.notifyFailed.Add(1)
	msg := c.URL.Scrub(err.Error())
	e.log.Warn("notification failed", "rule_id", n.RuleID, "bin_id", n.BinID, "channel", c.Type,
		"url_hint", c.URL.Hint(), "attempts", attempts, "err", msg)
	doc, _ := json.Marshal(EventDoc{Notification: n, Channel: c.Type, URLHint: c.URL.Hint(), Error: msg,
		Attempts: attempts, ForEvent: forEvent.String()})
	e.appendEvent(context.WithoutCancel(ctx), &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: n.RuleID,
		BinID: n.BinID, State: StateNotifyFailed, At: e.opt.Now(), Doc: doc})
	return errors.New(msg)
}

// send tries a channel with exponential backoff on retryable failures,
// waiting at least as long as a Retry-After asks (capped by MaxRetryAfter).
func (e *Engine) send(ctx context.Context, c Channel, n *notify.Notification, attemptsMax int, maxWait time.Duration) (int, error) {
	nt := e.opt.Notifiers[c.Type]
	if nt == nil {
		return 0, fmt.Errorf("no notifier for channel type %q", c.Type)
	}
	backoff := e.opt.RetryInitial
	for attempt := 1; ; attempt++ {
		retry, err := nt.Notify(ctx, c.URL, n)
		if err == nil {
			return attempt, nil
		}
		if !retry || attempt >= attemptsMax {
			return attempt, err
		}
		wait := backoff
		if ra, ok := notify.RetryAfter(err); ok {
			wait = max(wait, ra)
		}
		wait = min(wait, maxWait)
		backoff = min(2*backoff, e.opt.RetryMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// EventDoc is what an event's Doc holds: the notification, plus the channel
// and error for notify_failed events.
type EventDoc struct {
	*notify.Notification
	Channel  string `json:"channel,omitempty"`
	URLHint  string `json:"url_hint,omitempty"`
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	ForEvent string `json:"for_event,omitempty"`
}

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
	n := e.notification(r, bin, notify.StateTest, f, episode, now, now)
	ev := &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: r.ID, BinID: r.Bin(), State: notify.StateTest, At: now}
	ev.Doc, _ = json.Marshal(EventDoc{Notification: n})
	e.appendEvent(ctx, ev)
	out := make([]ChannelResult, 0, len(r.Channels))
	for _, c := range r.Channels {
		res := ChannelResult{Type: c.Type, URLHint: c.URL.Hint(), OK: true}
		// Someone is waiting on the answer: two attempts, short waits.
		if err := e.deliverWith(ctx, c, n, ev.ID, 2, 2*time.Second); err != nil {
			res.OK, res.Error = false, err.Error()
		}
		out = append(out, res)
	}
	return out, nil
}
