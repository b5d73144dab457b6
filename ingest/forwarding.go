package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// Async forwarding, its retries and redeliveries.
//
// A capture of a bin with an async forward goes to the Journal (fsynced in
// durable ack mode) before the sender is answered, and to the forwarder's
// pool. When an attempt ends (attemptDone):
//
//   - delivered, or failed with no attempt left: the record goes to the
//     capture log with its final state and leaves the journal;
//   - failed with attempts left: the entry is put back in the journal with
//     its attempts and the time of the next one (fsynced) BEFORE the record
//     goes to the log with state "retrying", and a timer is armed. A
//     restart reads the schedule back (StartRetries), so the next attempt
//     is neither lost nor run twice by this instance.
//
// The first record of a request is a plain capture record (the store
// keeps the first record of an id; the alert engine and the live feed see
// it). Every later outcome is a forward update (caplog.UpdateEntry): the
// store writer stores the request if it is missing and replaces its
// forward when the update has more attempts (schema.ForwardUpdater), so
// updates arriving twice or out of order are harmless.
//
// Ownership in a cluster: the journal is this instance's, so a retry runs
// on the instance that captured the request (or was asked to redeliver
// it), exactly once. The limit: if that instance stops for good, its
// pending retries wait in its data directory until it (or a process given
// that directory) starts again; no other instance takes them over.

// ErrRetrying is returned by Redeliver for a forward that is still being
// retried.
var ErrRetrying = errors.New("the forward is being retried; redeliver once it failed")

// DefaultMaxRetryBytes bounds the bodies held for pending retries.
const DefaultMaxRetryBytes = 256 << 20

// skipForward is the recorded forward of a capture the bin's forward
// filter leaves out, or nil when it is to be forwarded.
func (t *Target) skipForward(r *schema.Request) *schema.Forward {
	if t.fwd == nil {
		return nil
	}
	ok, reason := t.fwd.Match(r)
	if ok {
		return nil
	}
	fc := t.Bin.Settings.Forward
	mode := fc.Mode
	if mode == "" {
		mode = forward.ModeAsync
	}
	return &schema.Forward{URL: fc.URL, Mode: mode, State: schema.ForwardSkipped, Skipped: forward.SkipReason(reason)}
}

// forwardAsync relays r in the forwarder's worker pool; the record goes to
// the capture log once the first attempt ended, so the stored record
// carries its outcome (see the top of this file for what follows).
//
// Durability: between the answer to the sender and the end of the first
// attempt (at most the forward timeout, plus queueing) the record is in the
// forward Journal (fsynced before the answer in durable ack mode), not in
// the log; a crash recovers it on the next start (RecoverForwards: recorded
// with forward.error JournalInterrupted, or tried again when the bin
// retries). A journal that cannot take it fails the capture (503) before
// anything is forwarded. A clean shutdown waits for the attempt (the app
// closes the forwarder before the log). When the pool is saturated the
// request is recorded at once with the error "forward queue full; not
// forwarded", so overload never loses a capture.
//
// sent is r as it arrived (before redaction): what the target gets, kept in
// memory only; the journal and the record hold r, so a retry after a
// restart sends the redacted record.
func (p *Pipeline) forwardAsync(ctx context.Context, fc schema.ForwardConfig, r, sent *schema.Request) error {
	pending := schema.Forward{URL: fc.URL, Mode: forward.ModeAsync}
	r.Forward = &pending
	e := &journalEntry{req: r, cfg: &fc, sent: sent}
	j := p.opts.Journal
	if j != nil {
		if err := j.put(*e); err != nil {
			p.metrics.Refused.WithLabelValues("unavailable").Inc()
			return fmt.Errorf("%w: %w: forward journal: %w", ErrOverloaded, caplog.ErrUnavailable, err)
		}
	}
	err := p.opts.Forwarder.Submit(fc, sent, func(fw schema.Forward) {
		if _, err := p.attemptDone(context.Background(), e, fw); err != nil {
			p.lg.Error("record forwarded request", "bin", r.BinID, "request_id", r.ID, "err", err)
		}
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, forward.ErrQueueFull) {
		pending.Error = "forward queue full; not forwarded"
	} else {
		pending.Error = fmt.Sprintf("not forwarded: %v", err)
	}
	pending.State = schema.ForwardFailed
	if err := p.record(ctx, r); err != nil {
		return err
	}
	if j != nil {
		_ = j.Done(r.ID)
	}
	return nil
}

// attemptDone takes the outcome of one attempt of e's forward: it adds the
// attempt to the record, decides the state, and records it (see the top of
// this file). An error means the outcome did not reach the log; the
// journal still holds the entry, so the next start tries it again (or
// records it interrupted). The returned record is not changed afterwards
// (e may be, by the next attempt, as soon as it is scheduled).
func (p *Pipeline) attemptDone(ctx context.Context, e *journalEntry, res schema.Forward) (*schema.Request, error) {
	now := p.opts.Now()
	old := e.req
	f := schema.Forward{}
	if old.Forward != nil {
		f = *old.Forward
		f.Attempts = slices.Clone(f.Attempts)
	}
	f.URL, f.Mode = res.URL, forward.ModeAsync
	f.Status, f.LatencyUS, f.Error, f.Skipped, f.NextAt = res.Status, res.LatencyUS, res.Error, "", nil
	f.Attempts = append(f.Attempts, schema.ForwardAttempt{
		At:     schema.Truncate(now.Add(-time.Duration(res.LatencyUS) * time.Microsecond)),
		Status: res.Status, LatencyUS: res.LatencyUS, Error: res.Error,
	})
	pol := forward.NoRetry
	if e.cfg != nil {
		if pp, err := forward.ParsePolicy(e.cfg.Retry); err == nil {
			pol = pp
		}
	}
	r := *old
	r.Forward = &f
	e.req = &r
	n := len(f.Attempts) - e.base
	switch {
	case !forward.Failed(&res):
		f.State = schema.ForwardDelivered
	case n < pol.MaxAttempts:
		if !p.retry.admit(r.ID, len(r.Body)) {
			f.State = schema.ForwardFailed
			f.Error += "; retry queue full, not retried"
			break
		}
		next := schema.Truncate(now.Add(pol.Delay(n)))
		f.State, f.NextAt = schema.ForwardRetrying, &next
		upsert := e.upsert
		e.upsert = true // from here on a record of the id may be in the log
		if j := p.opts.Journal; j != nil {
			if err := j.put(*e); err != nil {
				// The schedule is not durable: do not promise a retry.
				p.retry.forget(r.ID)
				f.State, f.NextAt = schema.ForwardFailed, nil
				f.Error += "; retry not scheduled: " + err.Error()
				e.upsert = upsert
				break
			}
		}
		err := p.appendForward(ctx, e.req, upsert)
		p.retry.schedule(e, next)
		if err != nil {
			// The journal holds the schedule: the next outcome updates
			// (or stores) the record.
			return &r, fmt.Errorf("record retrying forward: %w", err)
		}
		return &r, nil
	default:
		f.State = schema.ForwardFailed
	}
	if err := p.appendForward(ctx, e.req, e.upsert); err != nil {
		return &r, err
	}
	p.retry.forget(r.ID)
	if j := p.opts.Journal; j != nil {
		if err := j.Done(r.ID); err != nil {
			p.lg.Warn("forward journal", "err", err)
		}
	}
	return &r, nil
}

// appendForward appends r to the capture log: as its first record, or as a
// forward update when one may be there already.
func (p *Pipeline) appendForward(ctx context.Context, r *schema.Request, update bool) error {
	if !update {
		return p.record(ctx, r)
	}
	e, err := caplog.UpdateEntry(nil, r)
	if err != nil {
		return fmt.Errorf("encode forward update: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, p.opts.AppendTimeout)
	defer cancel()
	if err := p.log.Append(actx, e); err != nil {
		return fmt.Errorf("%w: forward update: %w", ErrOverloaded, err)
	}
	return nil
}

// Redeliver forwards a stored request again to its bin's forward target
// now, as one more attempt of its forward, and, when that fails and the
// bin retries, retries it like a capture (a new series of attempts). The
// outcome is recorded on the request itself (a forward update); the
// returned request carries it. What is sent is what the store kept (a body
// the store truncated or headers it redacted are sent as stored).
// Errors: ErrForwardingDisabled, *InputError (the bin forwards nowhere),
// ErrRetrying (still being retried), ErrUnknownBin, ErrOverloaded.
func (p *Pipeline) Redeliver(ctx context.Context, orig *schema.Request) (*schema.Request, error) {
	if p.opts.Forwarder == nil {
		return nil, ErrForwardingDisabled
	}
	t, err := p.bin(ctx, orig.BinID)
	if err != nil {
		return nil, err
	}
	fc := t.Bin.Settings.Forward
	if fc == nil || fc.URL == "" {
		return nil, &InputError{"forward", "the bin has no forward target"}
	}
	if orig.Forward.StateOf() == schema.ForwardRetrying {
		return nil, ErrRetrying
	}
	if !p.retry.claim(orig.ID) {
		return nil, ErrRetrying
	}
	cfg := *fc
	cfg.Mode = forward.ModeAsync
	r := *orig
	e := &journalEntry{req: &r, cfg: &cfg, upsert: true}
	if f := orig.Forward; f != nil {
		fw := *f
		if len(fw.Attempts) == 0 && fw.State != schema.ForwardSkipped && (fw.Status != 0 || fw.Error != "") {
			// A record from before attempts were kept: its one outcome
			// becomes the first attempt.
			fw.Attempts = []schema.ForwardAttempt{{At: orig.ReceivedAt, Status: fw.Status, LatencyUS: fw.LatencyUS, Error: fw.Error}}
		}
		r.Forward = &fw
		e.base = len(fw.Attempts)
	}
	res := p.opts.Forwarder.Do(ctx, cfg, &r, forward.ModeAsync, false)
	rec, err := p.attemptDone(ctx, e, res.Forward)
	if rec.Forward.State != schema.ForwardRetrying {
		p.retry.forget(orig.ID)
	}
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// StartRetries schedules the retries the journal held when it was opened
// (the schedule of the previous process). Call it once, after
// RecoverForwards.
func (p *Pipeline) StartRetries() {
	if p.opts.Journal == nil || p.opts.Forwarder == nil {
		return
	}
	es := p.opts.Journal.takeRetries()
	now := p.opts.Now()
	for _, e := range es {
		at := now
		if f := e.req.Forward; f != nil && f.NextAt != nil && f.NextAt.After(now) {
			at = *f.NextAt
		}
		p.retry.admit(e.req.ID, len(e.req.Body))
		p.retry.schedule(e, at)
	}
	if len(es) > 0 {
		p.lg.Info("resumed forward retries", "requests", len(es))
	}
}

// StopRetries stops the retry timers (the schedule stays in the journal
// for the next start). Attempts already running finish; call it before
// closing the forwarder.
func (p *Pipeline) StopRetries() { p.retry.close() }

// PendingRetries is how many forwards wait for a retry (or run one).
func (p *Pipeline) PendingRetries() int { return p.retry.len() }

// CancelRetries drops this instance's pending retries of a bin's request
// (id), or of all the bin's requests (id nil), from the timers and the
// journal: called when they are deleted, so that the next outcome does not
// store them again. An attempt already running still records its outcome.
// Retries another instance holds are not reached (see the top of this
// file), nor are those of requests removed by a filtered delete.
func (p *Pipeline) CancelRetries(binID string, id *uuid.UUID) {
	if p == nil {
		return
	}
	for _, rid := range p.retry.cancel(binID, id) {
		if j := p.opts.Journal; j != nil {
			if err := j.Done(rid); err != nil {
				p.lg.Warn("forward journal", "err", err)
			}
		}
	}
}

// retrier holds the timers of pending retries. Each id is in it at most
// once (scheduled, or running an attempt), which is what keeps a retry
// from running twice in this instance.
type retrier struct {
	p      *Pipeline
	max    int64
	mu     sync.Mutex
	timers map[uuid.UUID]*time.Timer // nil while an attempt runs
	bins   map[uuid.UUID]string      // the bin of each scheduled id
	sizes  map[uuid.UUID]int
	bytes  int64
	closed bool
}

func newRetrier(p *Pipeline, maxBytes int64) *retrier {
	return &retrier{p: p, max: maxBytes, timers: map[uuid.UUID]*time.Timer{}, sizes: map[uuid.UUID]int{}, bins: map[uuid.UUID]string{}}
}

// admit counts a body against the bound of bytes held for retries; false
// when it does not fit. An id already counted is admitted.
func (q *retrier) admit(id uuid.UUID, size int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.sizes[id]; ok {
		return true
	}
	if q.bytes+int64(size) > q.max {
		return false
	}
	q.sizes[id] = size
	q.bytes += int64(size)
	return true
}

// claim marks id as running an attempt unless it is pending already.
func (q *retrier) claim(id uuid.UUID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.timers[id]; ok {
		return false
	}
	q.timers[id] = nil
	return true
}

func (q *retrier) schedule(e *journalEntry, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	id := e.req.ID
	if t := q.timers[id]; t != nil {
		t.Stop()
	}
	q.timers[id] = time.AfterFunc(max(at.Sub(q.p.opts.Now()), 0), func() { q.fire(e) })
	q.bins[id] = e.req.BinID
}

func (q *retrier) forget(id uuid.UUID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.timers[id]; t != nil {
		t.Stop()
	}
	delete(q.timers, id)
	delete(q.bins, id)
	if n, ok := q.sizes[id]; ok {
		q.bytes -= int64(n)
		delete(q.sizes, id)
	}
}

func (q *retrier) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.timers)
}

func (q *retrier) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, t := range q.timers {
		if t != nil {
			t.Stop()
		}
	}
}

// fire runs the next attempt of e with the bin's current forward setting
// (a changed target or policy applies to pending retries).
func (q *retrier) fire(e *journalEntry) {
	p := q.p
	id := e.req.ID
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.timers[id] = nil
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := p.bin(ctx, e.req.BinID)
	switch {
	case errors.Is(err, ErrUnknownBin):
		// The bin is gone, and its requests with it.
		q.forget(id)
		if j := p.opts.Journal; j != nil {
			_ = j.Done(id)
		}
		return
	case err != nil:
		p.lg.Warn("forward retry: look up bin", "bin", e.req.BinID, "err", err)
		q.schedule(e, p.opts.Now().Add(5*time.Second))
		return
	}
	fc := t.Bin.Settings.Forward
	if fc == nil || fc.URL == "" {
		res := schema.Forward{Error: "forwarding was turned off on the bin; not retried"}
		if e.req.Forward != nil {
			res.URL = e.req.Forward.URL
		}
		e.cfg = nil // no retry policy: this outcome is final
		if _, err := p.attemptDone(ctx, e, res); err != nil {
			p.lg.Error("record forward retry", "bin", e.req.BinID, "request_id", id, "err", err)
		}
		return
	}
	cfg := *fc
	cfg.Mode = forward.ModeAsync
	e.cfg = &cfg
	out := e.req
	if e.sent != nil {
		out = e.sent // the unredacted request, while this process holds it
	}
	err = p.opts.Forwarder.Submit(cfg, out, func(fw schema.Forward) {
		if _, err := p.attemptDone(context.Background(), e, fw); err != nil {
			p.lg.Error("record forward retry", "bin", e.req.BinID, "request_id", id, "err", err)
		}
	})
	switch {
	case errors.Is(err, forward.ErrQueueFull):
		q.schedule(e, p.opts.Now().Add(time.Second))
	case err != nil:
		// Closing: the journal keeps the schedule for the next start.
	}
}

// cancel stops the scheduled retries of binID's request id (all of the
// bin's when id is nil) and returns their ids. Running attempts are left.
func (q *retrier) cancel(binID string, id *uuid.UUID) []uuid.UUID {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []uuid.UUID
	for rid, bin := range q.bins {
		t := q.timers[rid]
		if bin != binID || (id != nil && rid != *id) || t == nil || !t.Stop() {
			continue
		}
		delete(q.timers, rid)
		delete(q.bins, rid)
		if n, ok := q.sizes[rid]; ok {
			q.bytes -= int64(n)
			delete(q.sizes, rid)
		}
		out = append(out, rid)
	}
	return out
}
