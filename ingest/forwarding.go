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
// sent is r as it arrived (before redaction): what the target gets. The
// record holds r; the journal holds r and, when redaction changed it, sent
// too, until the forward is delivered or failed for good, so a retry after
// a restart sends what the first attempt sent (SECURITY.md).
func (p *Pipeline) forwardAsync(ctx context.Context, fc schema.ForwardConfig, r, sent *schema.Request) error {
	pending := schema.Forward{URL: fc.URL, Mode: forward.ModeAsync}
	r.Forward = &pending
	e := &journalEntry{req: r, cfg: &fc}
	if sent != r {
		e.sent = sent // redaction changed r: the journal keeps both
	}
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
	if p.retry.settled(r.BinID, r.ID) {
		// The request was deleted while this attempt ran: its outcome is
		// not recorded (an update would store it again), nothing follows.
		p.dropEntry(r.ID)
		return &r, nil
	}
	n := len(f.Attempts) - e.base
	switch {
	case !forward.Failed(&res):
		f.State = schema.ForwardDelivered
	case n < pol.MaxAttempts:
		if !p.retry.admit(r.ID, e.size()) {
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
		if !p.retry.schedule(e, next) {
			// Deleted meanwhile (CancelRetries): the journal entry goes.
			p.dropEntry(r.ID)
		}
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
	p.dropEntry(r.ID)
	return &r, nil
}

// dropEntry ends id's forward in this instance: no timer, no bytes held,
// no journal entry.
func (p *Pipeline) dropEntry(id uuid.UUID) {
	p.retry.forget(id)
	if j := p.opts.Journal; j != nil {
		if err := j.Done(id); err != nil {
			p.lg.Warn("forward journal", "err", err)
		}
	}
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
	if !p.retry.claim(orig.BinID, orig.ID) {
		return nil, ErrRetrying
	}
	cfg := *fc
	cfg.Mode = forward.ModeAsync
	r := *orig
	e := &journalEntry{req: &r, cfg: &cfg, upsert: true, asStored: true}
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
		p.retry.admit(e.req.ID, e.size())
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
// (id), or of all the bin's requests (id nil): called once they are
// deleted, so that the deleted requests are neither sent again nor stored
// again by a later outcome. A retry waiting for its time is stopped; one
// whose attempt is running has that attempt's outcome dropped (not
// recorded, no next attempt). Either way its journal entry goes.
//
// Retries another instance holds are not reached (see the top of this
// file): each retry checks before it sends that its request is still
// stored (retrier.gone), which stops those from the attempt after the one
// that first found the request stored.
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

// DeleteScope says what a delete removes from a bin: one request (ID),
// all of them (All: clearing or deleting the bin), or, neither set, those
// matching a filter the pipeline cannot evaluate (a delete by filter).
type DeleteScope struct {
	ID  *uuid.UUID
	All bool
}

// DeleteRequests runs del, a delete of binID's requests, and cancels this
// instance's pending retries of what it removed (CancelRetries). While del
// runs the bin's retries are held: none sends and no attempt's outcome is
// recorded, so nothing stores a request again between the delete and the
// cancel (a ClickHouse delete waits for its mutation, long enough for a
// retry to run). For a delete by filter the removed ones are those of the
// bin's pending retries whose request was stored before del and is not
// after (a request not yet stored was not deleted by it; without a request
// source, Options.Requests, none is cancelled). del's error is returned as
// is, and then nothing is cancelled. A nil pipeline only runs del.
//
// The limit: an outcome already in the capture log, not yet in the store,
// when del runs is stored after it (the store writer stores the request of
// a forward update when it is missing).
func (p *Pipeline) DeleteRequests(ctx context.Context, binID string, scope DeleteScope, del func(ctx context.Context) error) error {
	if p == nil {
		return del(ctx)
	}
	p.retry.suspend(binID)
	defer p.retry.resume(binID)
	var before []uuid.UUID
	byFilter := scope.ID == nil && !scope.All && p.opts.Requests != nil
	if byFilter {
		before = p.storedOf(ctx, binID, p.retry.ids(binID), false)
	}
	if err := del(ctx); err != nil {
		return err
	}
	switch {
	case scope.ID != nil:
		p.CancelRetries(binID, scope.ID)
	case scope.All:
		p.CancelRetries(binID, nil)
	case byFilter:
		stillStored := make(map[uuid.UUID]bool)
		for _, id := range p.storedOf(ctx, binID, before, true) {
			stillStored[id] = true
		}
		for _, id := range before {
			if !stillStored[id] {
				p.CancelRetries(binID, &id)
			}
		}
	}
	return nil
}

// storedOf is the ids of binID that the store holds, read by batches of
// schema.MaxGetRequests (one query each, not one per id). A batch the
// store cannot answer counts as held when unanswered is true, as not held
// otherwise: DeleteRequests asks so that an error never cancels a retry.
func (p *Pipeline) storedOf(ctx context.Context, binID string, ids []uuid.UUID, unanswered bool) []uuid.UUID {
	var out []uuid.UUID
	for chunk := range slices.Chunk(ids, schema.MaxGetRequests) {
		reqs, err := p.opts.Requests.GetRequests(ctx, binID, chunk)
		if err != nil {
			p.lg.Warn("forward retry: look up requests around a delete", "bin", binID, "requests", len(chunk), "err", err)
			if unanswered {
				out = append(out, chunk...)
			}
			continue
		}
		for _, r := range reqs {
			out = append(out, r.ID)
		}
	}
	return out
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
	// cancelled are ids CancelRetries removed while their timer had fired
	// or their attempt ran: fire, attemptDone and schedule drop them.
	cancelled map[uuid.UUID]struct{}
	// suspended counts the deletes running per bin (DeleteRequests):
	// while one runs, fire and attemptDone wait on held.
	suspended map[string]int
	held      *sync.Cond // on mu
	closed    bool
}

func newRetrier(p *Pipeline, maxBytes int64) *retrier {
	q := &retrier{p: p, max: maxBytes, timers: map[uuid.UUID]*time.Timer{}, sizes: map[uuid.UUID]int{},
		bins: map[uuid.UUID]string{}, cancelled: map[uuid.UUID]struct{}{}, suspended: map[string]int{}}
	q.held = sync.NewCond(&q.mu)
	return q
}

// suspend holds binID's retries until resume (see DeleteRequests).
func (q *retrier) suspend(binID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.suspended[binID]++
}

func (q *retrier) resume(binID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.suspended[binID]--; q.suspended[binID] <= 0 {
		delete(q.suspended, binID)
	}
	q.held.Broadcast()
}

// waitLocked returns once no delete of binID runs (or the retrier closed).
func (q *retrier) waitLocked(binID string) {
	for q.suspended[binID] > 0 && !q.closed {
		q.held.Wait()
	}
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

// claim marks binID's id as running an attempt unless it is pending
// already.
func (q *retrier) claim(binID string, id uuid.UUID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.timers[id]; ok {
		return false
	}
	delete(q.cancelled, id) // a redelivery of a request stored again
	q.timers[id] = nil
	q.bins[id] = binID
	return true
}

// schedule arms e's next attempt at at; false when e was cancelled
// meanwhile (nothing is armed then).
func (q *retrier) schedule(e *journalEntry, at time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := e.req.ID
	if _, ok := q.cancelled[id]; ok {
		delete(q.cancelled, id)
		return false
	}
	if q.closed {
		return true // the journal keeps the schedule for the next start
	}
	if t := q.timers[id]; t != nil {
		t.Stop()
	}
	q.timers[id] = time.AfterFunc(max(at.Sub(q.p.opts.Now()), 0), func() { q.fire(e) })
	q.bins[id] = e.req.BinID
	return true
}

// settled waits until no delete of binID runs, then reports (once)
// whether id was cancelled meanwhile: an attempt's outcome is recorded only
// when this is false.
func (q *retrier) settled(binID string, id uuid.UUID) (cancelled bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waitLocked(binID)
	_, cancelled = q.cancelled[id]
	delete(q.cancelled, id)
	return cancelled
}

func (q *retrier) forget(id uuid.UUID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forgetLocked(id)
}

func (q *retrier) forgetLocked(id uuid.UUID) {
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

// ids are the ids of binID's pending retries.
func (q *retrier) ids(binID string) []uuid.UUID {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []uuid.UUID
	for id, b := range q.bins {
		if b == binID {
			out = append(out, id)
		}
	}
	return out
}

func (q *retrier) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.held.Broadcast()
	for _, t := range q.timers {
		if t != nil {
			t.Stop()
		}
	}
}

// ErrOriginalLost is the forward error of a retry whose request was
// redacted and whose original (journalEntry.sent) is not held: sending the
// redacted record would hand the target other bytes than the first
// attempt did, so the forward fails instead.
const ErrOriginalLost = "the request as it arrived is not held for this retry (a redacted record cannot stand in for it); not retried"

// fire runs the next attempt of e with the bin's current forward setting
// (a changed target or policy applies to pending retries).
func (q *retrier) fire(e *journalEntry) {
	p := q.p
	id := e.req.ID
	q.mu.Lock()
	q.waitLocked(e.req.BinID) // a delete of the bin runs: it may cancel this
	if q.closed {
		q.mu.Unlock()
		return
	}
	if _, ok := q.cancelled[id]; ok {
		// Cancelled after the timer fired: nothing runs, nothing is kept.
		delete(q.cancelled, id)
		q.mu.Unlock()
		return
	}
	if _, ok := q.timers[id]; !ok {
		q.mu.Unlock()
		return // forgotten meanwhile
	}
	q.timers[id] = nil
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t, err := p.bin(ctx, e.req.BinID)
	switch {
	case errors.Is(err, ErrUnknownBin):
		// The bin is gone, and its requests with it.
		p.dropEntry(id)
		return
	case err != nil:
		p.lg.Warn("forward retry: look up bin", "bin", e.req.BinID, "err", err)
		q.schedule(e, p.opts.Now().Add(5*time.Second))
		return
	}
	if q.gone(ctx, e) {
		p.lg.Info("forward retry: the request was deleted; not retried", "bin", e.req.BinID, "request_id", id)
		p.dropEntry(id)
		return
	}
	fc := t.Bin.Settings.Forward
	out := e.req
	if e.sent != nil {
		out = e.sent // the request as it arrived, as the first attempt sent it
	}
	var final string
	switch {
	case fc == nil || fc.URL == "":
		final = "forwarding was turned off on the bin; not retried"
	case e.sent == nil && e.req.Redacted != nil && !e.asStored && e.base == 0:
		final = ErrOriginalLost
	}
	if final != "" {
		res := schema.Forward{Error: final}
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
	err = p.opts.Forwarder.Submit(cfg, out, func(fw schema.Forward) {
		if _, err := p.attemptDone(context.Background(), e, fw); err != nil {
			p.lg.Error("record forward retry", "bin", e.req.BinID, "request_id", id, "err", err)
		}
	})
	switch {
	case errors.Is(err, forward.ErrQueueFull):
		if !q.schedule(e, p.opts.Now().Add(time.Second)) {
			p.dropEntry(id)
		}
	case err != nil:
		// Closing: the journal keeps the schedule for the next start.
	}
}

// gone is the send-time check that e's request is still stored: a delete
// that CancelRetries did not reach (another instance's, a retention
// sweep, one racing the schedule) must not be forwarded again. Only a
// request found stored once (seen, kept in the journal) counts as deleted
// when it is missing: before that, missing may only mean the store writer
// has not taken its record yet. A store that cannot answer does not hold
// the retry back.
func (q *retrier) gone(ctx context.Context, e *journalEntry) bool {
	src := q.p.opts.Requests
	if src == nil {
		return false
	}
	_, err := src.GetRequest(ctx, e.req.BinID, e.req.ID)
	switch {
	case err == nil:
		e.seen = true // written with the entry's next journal line
		return false
	case errors.Is(err, schema.ErrNotFound):
		return e.seen
	default:
		q.p.lg.Warn("forward retry: look up the request", "bin", e.req.BinID, "request_id", e.req.ID, "err", err)
		return false
	}
}

// cancel removes binID's request id (all of the bin's when id is nil) from
// the retries and returns their ids. A retry whose timer could not be
// stopped (it fired, or its attempt runs) is marked cancelled, so that
// fire sends nothing and attemptDone records nothing.
func (q *retrier) cancel(binID string, id *uuid.UUID) []uuid.UUID {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []uuid.UUID
	for rid, bin := range q.bins {
		if bin != binID || (id != nil && rid != *id) {
			continue
		}
		if t := q.timers[rid]; t == nil || !t.Stop() {
			q.cancelled[rid] = struct{}{}
		}
		q.forgetLocked(rid)
		out = append(out, rid)
	}
	return out
}
