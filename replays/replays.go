// Package replays runs bulk replay jobs (issue 17.6): the requests of a bin
// matching the list's filters, sent again at a bounded rate through the
// single replay (ingest.Pipeline.Replay, so each is recorded and linked to
// its original), with progress that any instance can read.
//
// A job is a row in the store (schema.ReplayJobs), written before the API
// answers; the instance that accepted it runs it and writes its progress
// (and a heartbeat) at least every ProgressEvery. Cancel is a separate
// store record that the runner reads with each progress write, so a cancel
// sent to any instance behind a load balancer stops the job. Jobs do not
// resume: a job whose runner stopped (shutdown, crash) is marked
// interrupted, by its own instance at shutdown or next start (Recover), and
// by any reader once its heartbeat is older than StaleAfter.
package replays

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
)

// Limits of one job.
const (
	MaxRate     = 500.0 // requests per second
	DefaultRate = 10.0
	// MaxRequests bounds a job: a larger match replays its oldest
	// MaxRequests (Total says how many).
	MaxRequests = 10_000
	// MaxURLLen bounds the target URL.
	MaxURLLen = 2048
	// DefaultRetention keeps an ended job for a week after its last update.
	DefaultRetention = 7 * 24 * time.Hour
)

var (
	// ErrBusy: the instance or the bin already runs as many jobs as allowed.
	ErrBusy = errors.New("too many replay jobs running")
	// ErrNoTarget: no url was given and the bin has no forward target.
	ErrNoTarget = errors.New("the bin has no forward target; give a url")
)

// Store is what the manager reads and writes (schema.Store satisfies it).
type Store interface {
	schema.ReplayJobs
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
	GetRequest(ctx context.Context, binID string, id uuid.UUID) (*schema.Request, error)
	CountMatching(ctx context.Context, f schema.Filter, max int64) (int64, error)
}

// Replayer sends one stored request again (to url, or to the bin's forward
// target when url is empty) and records the attempt; the record's Forward
// holds the outcome. ingest.Pipeline.Replay is one, adapted by the caller.
type Replayer func(ctx context.Context, orig *schema.Request, url, remoteIP string) (*schema.Request, error)

// FatalError marks a Replayer error after which no other request of the job
// can succeed (the bin is gone, forwarding is off): the job fails.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// Options configure a Manager. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Instance names this process in the jobs it runs (stable across
	// restarts of the same instance, so Recover finds its own jobs).
	Instance string
	// MaxJobs bounds the jobs running on this instance (default 4);
	// MaxJobsPerBin those of one bin across instances (default 1).
	MaxJobs       int
	MaxJobsPerBin int
	// ProgressEvery is how often a running job writes its progress and
	// reads cancel requests (default 500ms). StaleAfter is how old a
	// running job's heartbeat may be before readers call it interrupted
	// (default 30s).
	ProgressEvery time.Duration
	StaleAfter    time.Duration
	// Retention is how long an ended job (done, failed, canceled,
	// interrupted) is kept after its last update before Purge removes it
	// (default DefaultRetention).
	Retention time.Duration
	// CheckURL vets a target URL before a job is accepted (the SSRF
	// guard's verdict on its address); nil accepts any http(s) URL (each
	// send still goes through the guarded client).
	CheckURL func(ctx context.Context, url string) error
	Now      func() time.Time
}

// Manager creates, runs, reports and cancels jobs.
type Manager struct {
	store  Store
	replay Replayer
	opts   Options
	log    *slog.Logger

	mu      sync.Mutex
	running map[uuid.UUID]context.CancelFunc
	perBin  map[string]int
	closed  bool
	wg      sync.WaitGroup
}

// New returns a manager; call Recover once at start and Close at shutdown.
func New(store Store, replay Replayer, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxJobs <= 0 {
		opts.MaxJobs = 4
	}
	if opts.MaxJobsPerBin <= 0 {
		opts.MaxJobsPerBin = 1
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 500 * time.Millisecond
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 30 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Instance == "" {
		opts.Instance = uuid.NewString()
	}
	return &Manager{store: store, replay: replay, opts: opts, log: opts.Logger.With("component", "replays"),
		running: map[uuid.UUID]context.CancelFunc{}, perBin: map[string]int{}}
}

// Input is a job request, as the API decoded it.
type Input struct {
	Bin *schema.Bin
	// Params are the list filters (query parameter name → value).
	Params map[string]string
	URL    string
	Rate   float64 // 0: DefaultRate
	DryRun bool
	// RemoteIP is the address of whoever asked.
	RemoteIP string
}

// InputError names the parameter that was wrong.
type InputError = query.ParamError

func (m *Manager) now() time.Time { return schema.Truncate(m.opts.Now()) }

// Create validates in, counts the matching requests and, unless it is a
// dry run, stores the job and starts it. A dry run returns the job as it
// would start (state "dry_run"), stores nothing and sends nothing.
// Errors: *query.ParamError (400), ErrNoTarget (400), ErrBusy (429), store
// errors.
func (m *Manager) Create(ctx context.Context, in Input) (*schema.ReplayJob, error) {
	if in.Rate == 0 {
		in.Rate = DefaultRate
	}
	if in.Rate < 0.1 || in.Rate > MaxRate {
		return nil, &query.ParamError{Param: "rate", Msg: fmt.Sprintf("must be from 0.1 to %g requests per second", MaxRate)}
	}
	if in.URL != "" {
		if len(in.URL) > MaxURLLen || !(strings.HasPrefix(in.URL, "http://") || strings.HasPrefix(in.URL, "https://")) {
			return nil, &query.ParamError{Param: "url", Msg: fmt.Sprintf("must be an http:// or https:// URL of at most %d bytes", MaxURLLen)}
		}
	} else if fw := in.Bin.Settings.Forward; fw == nil || fw.URL == "" {
		return nil, ErrNoTarget
	}
	target := in.URL
	if target == "" {
		target = in.Bin.Settings.Forward.URL
	}
	if m.opts.CheckURL != nil {
		if err := m.opts.CheckURL(ctx, target); err != nil {
			return nil, &query.ParamError{Param: "url", Msg: "target refused: " + err.Error()}
		}
	}
	params := make(map[string]string, len(in.Params))
	for k, v := range in.Params {
		params[k] = strings.Clone(v)
	}
	now := m.now()
	f, err := filterOf(in.Bin.ID, params, now)
	if err != nil {
		return nil, err
	}
	total, err := m.store.CountMatching(ctx, f, MaxRequests)
	if err != nil {
		return nil, fmt.Errorf("count matches: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("job id: %w", err)
	}
	j := &schema.ReplayJob{
		ID: id, BinID: in.Bin.ID, Params: params, URL: in.URL, Rate: in.Rate, Until: now, RemoteIP: in.RemoteIP,
		State: schema.ReplayQueued, Total: total, Instance: m.opts.Instance,
		CreatedAt: now, UpdatedAt: now, Heartbeat: now,
	}
	if in.DryRun {
		j.State = "dry_run"
		return j, nil
	}
	if err := m.reserve(ctx, j.BinID); err != nil {
		return nil, err
	}
	if err := m.store.PutReplayJob(ctx, j); err != nil {
		m.release(j.BinID, uuid.Nil)
		return nil, fmt.Errorf("store job: %w", err)
	}
	jctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.running[j.ID] = cancel
	m.mu.Unlock()
	// The runner owns j from here; the caller gets a copy.
	out := *j
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.release(j.BinID, j.ID)
		m.run(jctx, j)
	}()
	return &out, nil
}

// reserve takes a slot on this instance and for the bin, refusing when a
// limit is reached. Jobs of the bin running elsewhere count from the store
// (those with a fresh heartbeat).
func (m *Manager) reserve(ctx context.Context, binID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("%w: shutting down", ErrBusy)
	}
	if len(m.running) >= m.opts.MaxJobs {
		return fmt.Errorf("%w: at most %d on this instance", ErrBusy, m.opts.MaxJobs)
	}
	n := m.perBin[binID]
	if n >= m.opts.MaxJobsPerBin {
		return fmt.Errorf("%w: at most %d per bin", ErrBusy, m.opts.MaxJobsPerBin)
	}
	// Other instances' jobs of this bin (a store read under the lock: jobs
	// are rare, and the lock keeps two creates here from both passing).
	for _, st := range []string{schema.ReplayRunning, schema.ReplayQueued} {
		js, err := m.store.ListReplayJobs(ctx, schema.ReplayJobFilter{BinID: binID, State: st, Limit: 100})
		if err != nil {
			return fmt.Errorf("list running jobs: %w", err)
		}
		for _, j := range js {
			if j.Instance != m.opts.Instance && !m.stale(j) {
				n++
			}
		}
	}
	if n >= m.opts.MaxJobsPerBin {
		return fmt.Errorf("%w: at most %d per bin", ErrBusy, m.opts.MaxJobsPerBin)
	}
	m.perBin[binID]++
	return nil
}

func (m *Manager) release(binID string, id uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.perBin[binID]--; m.perBin[binID] <= 0 {
		delete(m.perBin, binID)
	}
	if id != uuid.Nil {
		if c := m.running[id]; c != nil {
			c()
		}
		delete(m.running, id)
	}
}

func (m *Manager) stale(j *schema.ReplayJob) bool {
	return !j.Ended() && m.opts.Now().Sub(j.Heartbeat) > m.opts.StaleAfter
}

// filterOf parses a job's parameters with the list's own parser and bounds
// it by the job's snapshot time: the replays land in the same bin later,
// and must not be replayed again.
func filterOf(binID string, params map[string]string, until time.Time) (schema.Filter, error) {
	get := func(k string) string { return params[k] }
	f, err := query.ParseLiveFilter(binID, get)
	if err != nil {
		return f, err
	}
	if f.Forward, err = query.ParseForwardState(get); err != nil {
		return f, err
	}
	if f.Until.IsZero() || f.Until.After(until) {
		f.Until = until
	}
	if !f.Since.IsZero() && !f.Since.Before(f.Until) {
		return f, &query.ParamError{Param: "since", Msg: "must be before now"}
	}
	return f, nil
}

// Get returns a job as stored, with a running job whose runner stopped
// writing reported (and stored) as interrupted. ErrNotFound for an unknown
// job.
func (m *Manager) Get(ctx context.Context, id uuid.UUID) (*schema.ReplayJob, error) {
	j, err := m.store.GetReplayJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.stale(j) {
		m.interrupt(ctx, j, "its runner stopped reporting")
	}
	return j, nil
}

// List returns a bin's jobs, newest first (stale ones as interrupted).
func (m *Manager) List(ctx context.Context, binID string) ([]*schema.ReplayJob, error) {
	js, err := m.store.ListReplayJobs(ctx, schema.ReplayJobFilter{BinID: binID, Limit: 50})
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		if m.stale(j) {
			m.interrupt(ctx, j, "its runner stopped reporting")
		}
	}
	return js, nil
}

// Cancel asks a job to stop: at once when it runs here, else when its
// runner next writes progress; a send already in flight finishes. Cancelling an ended job changes nothing.
// ErrNotFound for an unknown job.
func (m *Manager) Cancel(ctx context.Context, id uuid.UUID) (*schema.ReplayJob, error) {
	j, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Ended() {
		return j, nil
	}
	if err := m.store.CancelReplayJob(ctx, id); err != nil {
		return nil, fmt.Errorf("store cancel: %w", err)
	}
	m.mu.Lock()
	c := m.running[id]
	m.mu.Unlock()
	if c != nil {
		c()
	}
	j.CancelRequested = true
	return j, nil
}

// interrupt stores j as interrupted (best effort: a reader's view is
// corrected either way).
func (m *Manager) interrupt(ctx context.Context, j *schema.ReplayJob, why string) {
	now := m.now()
	if !now.After(j.UpdatedAt) {
		now = j.UpdatedAt.Add(time.Microsecond)
	}
	j.State, j.Error, j.UpdatedAt, j.Finished = schema.ReplayInterrupted, why, now, &now
	if err := m.store.PutReplayJob(ctx, j); err != nil {
		m.log.Warn("could not mark a replay job interrupted", "job", j.ID, "err", err)
	}
}

// Recover marks this instance's unfinished jobs interrupted (they ran in a
// previous process), and other instances' jobs whose heartbeat is stale.
// Jobs do not resume: the requests already sent are recorded, and a new
// job with the same filters would send them again.
func (m *Manager) Recover(ctx context.Context) error {
	for _, st := range []string{schema.ReplayRunning, schema.ReplayQueued} {
		js, err := m.store.ListReplayJobs(ctx, schema.ReplayJobFilter{State: st, Limit: 1000})
		if err != nil {
			return fmt.Errorf("list unfinished replay jobs: %w", err)
		}
		for _, j := range js {
			m.mu.Lock()
			_, mine := m.running[j.ID]
			m.mu.Unlock()
			if mine {
				continue
			}
			if j.Instance == m.opts.Instance || m.stale(j) {
				m.interrupt(ctx, j, "the instance running it restarted")
				m.log.Warn("replay job interrupted by a restart", "job", j.ID, "bin", j.BinID, "sent", j.Sent, "total", j.Total)
			}
		}
	}
	return nil
}

// Purge is the jobs' retention, run by the store's retention sweep: it
// marks interrupted the jobs whose runner stopped reporting (so that a job
// whose instance never came back ends, and ages out), then removes the
// jobs that ended more than Retention ago and the ended jobs of deleted
// bins (schema.ReplayJobs.PurgeReplayJobs). Jobs that run are never
// removed: a job of a deleted bin ends at its next send (the bin is gone)
// and goes at the next sweep. It returns how many jobs it removed.
func (m *Manager) Purge(ctx context.Context) (int64, error) {
	for _, st := range []string{schema.ReplayRunning, schema.ReplayQueued} {
		js, err := m.store.ListReplayJobs(ctx, schema.ReplayJobFilter{State: st, Limit: 1000})
		if err != nil {
			return 0, fmt.Errorf("list unfinished replay jobs: %w", err)
		}
		for _, j := range js {
			m.mu.Lock()
			_, mine := m.running[j.ID]
			m.mu.Unlock()
			if !mine && m.stale(j) {
				m.interrupt(ctx, j, "its runner stopped reporting")
			}
		}
	}
	n, err := m.store.PurgeReplayJobs(ctx, m.opts.Now().Add(-m.opts.Retention))
	if err != nil {
		return 0, fmt.Errorf("purge replay jobs: %w", err)
	}
	return n, nil
}

// Close stops the running jobs and marks them interrupted (bounded by ctx).
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, c := range m.running {
		c()
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop replay jobs: %w", ctx.Err())
	}
}

// ---- the runner ----

// progress is a running job. The runner changes the job's counters and
// state under mu; the heartbeat copies the job under mu and writes the copy.
type progress struct {
	mu sync.Mutex
	j  *schema.ReplayJob
}

// count records one send's outcome.
func (p *progress) count(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.j.Sent++
	if ok {
		p.j.Succeeded++
	} else {
		p.j.Failed++
	}
}

func (p *progress) canceled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.j.CancelRequested
}

// run sends the job's requests oldest first, at its rate; a heartbeat
// writes its progress every ProgressEvery (also while one slow send is in
// flight, so readers never take a live job for a dead one); ctx ends on a
// local cancel or Close.
func (m *Manager) run(ctx context.Context, j *schema.ReplayJob) {
	log := m.log.With("job", j.ID, "bin", j.BinID)
	p := &progress{j: j}
	p.mu.Lock()
	j.State = schema.ReplayRunning
	p.mu.Unlock()
	m.save(p)
	beatCtx, stopBeat := context.WithCancel(context.Background())
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		t := time.NewTicker(m.opts.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-beatCtx.Done():
				return
			case <-t.C:
				m.save(p)
			}
		}
	}()
	end := func(state, msg string) {
		stopBeat()
		<-beatDone
		p.mu.Lock()
		j.State, j.Error = state, msg
		now := m.now()
		j.Finished = &now
		p.mu.Unlock()
		m.save(p)
		log.Info("replay job ended", "state", state, "total", j.Total, "sent", j.Sent, "succeeded", j.Succeeded, "failed", j.Failed)
	}
	f, err := filterOf(j.BinID, j.Params, j.Until)
	if err != nil {
		end(schema.ReplayFailed, "invalid filters: "+err.Error())
		return
	}
	lim := rate.NewLimiter(rate.Limit(j.Rate), 1)
	// Oldest first: After a cursor before every stored time.
	f.Before, f.After, f.Limit = nil, &schema.Cursor{ReceivedAt: query.MinTime}, 200
	if !f.Since.IsZero() {
		f.After.ReceivedAt = f.Since.Add(-time.Microsecond)
	}
	// Only the runner writes Sent and Total: it reads them without the lock.
	for j.Sent < j.Total {
		page, err := m.store.ListRequests(ctx, f)
		if err != nil {
			if ctx.Err() != nil || p.canceled() {
				end(m.stopState(), "")
				return
			}
			log.Warn("replay job: list", "err", err)
			end(schema.ReplayFailed, "reading the requests failed")
			return
		}
		for _, sum := range page.Requests {
			if j.Sent >= j.Total {
				break
			}
			if err := lim.Wait(ctx); err != nil || p.canceled() {
				end(m.stopState(), "")
				return
			}
			orig, err := m.full(ctx, sum)
			if err != nil {
				if ctx.Err() != nil {
					end(m.stopState(), "")
					return
				}
				p.count(false) // deleted since the job started, or unreadable
				continue
			}
			// A send in flight finishes (bounded by the forward timeout) even
			// when the job is cancelled or the instance stops meanwhile: cut
			// short, it might or might not have reached the target, and
			// sent would no longer say what the target got.
			rec, err := m.replay(context.WithoutCancel(ctx), orig, j.URL, j.RemoteIP)
			var fatal *FatalError
			switch {
			case errors.As(err, &fatal):
				p.count(false)
				end(schema.ReplayFailed, fatal.Error())
				return
			case err != nil:
				p.count(false)
				log.Debug("replay failed", "request", orig.ID, "err", err)
			default:
				p.count(rec.Forward != nil && rec.Forward.Error == "" && rec.Forward.Status >= 200 && rec.Forward.Status <= 299)
			}
		}
		if page.Next == nil || len(page.Requests) == 0 {
			break
		}
		f.After = page.Next
	}
	if ctx.Err() != nil || p.canceled() {
		end(m.stopState(), "")
		return
	}
	end(schema.ReplayDone, "")
}

// full returns the whole request: the summary itself when its body
// preview is the whole stored body (most webhooks are small), else a read
// of the full record.
func (m *Manager) full(ctx context.Context, sum *schema.Request) (*schema.Request, error) {
	if len(sum.Body) < schema.PreviewBytes || sum.BodySize <= int64(len(sum.Body)) {
		return sum, nil
	}
	return m.store.GetRequest(ctx, sum.BinID, sum.ID)
}

// stopState is the state of a job that stopped before its end: canceled,
// or interrupted when the manager is closing.
func (m *Manager) stopState() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return schema.ReplayInterrupted
	}
	return schema.ReplayCanceled
}

// save writes the job's progress and heartbeat, and reads back a cancel
// request stored meanwhile (by any instance).
func (m *Manager) save(p *progress) {
	p.mu.Lock()
	now := m.now()
	if !now.After(p.j.UpdatedAt) {
		now = p.j.UpdatedAt.Add(time.Microsecond)
	}
	p.j.UpdatedAt, p.j.Heartbeat = now, now
	snap := *p.j
	p.mu.Unlock()
	// Progress writes outlive a cancelled job context: the final state
	// must be stored.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.store.PutReplayJob(ctx, &snap); err != nil {
		m.log.Warn("replay job: write progress", "job", snap.ID, "err", err)
		return
	}
	if snap.Ended() {
		return
	}
	if cur, err := m.store.GetReplayJob(ctx, snap.ID); err == nil && cur.CancelRequested {
		p.mu.Lock()
		p.j.CancelRequested = true
		p.mu.Unlock()
	}
}
