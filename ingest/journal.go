package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// Journal keeps the records of async forwards in flight on disk, so that a
// crash between answering the sender and the end of the forward (when the
// record goes to the capture log) does not lose them: on the next start they
// are recovered and recorded with the error "hookscope stopped before the
// forward finished; not forwarded".
//
// It is an append-only file of JSON lines ("add" with the record, "done"
// with its id). With Sync (durable ack mode) every "add" is fdatasynced
// before Add returns, like a capture log append; "done" lines are not (a
// lost one only makes the next start append the record again, and the
// store keeps the first row of an id). The file is emptied whenever
// nothing is in flight and compacted when it grows past MaxBytes and twice
// what is pending. What is pending is bounded: retries by the pipeline's
// MaxRetryBytes (bodies, the original included), first attempts by the
// forwarder's queue; so the file stays under about twice that, or
// MaxBytes.
//
// It is also the durable queue of forward retries (retry.go): an entry
// whose forward has a retry policy stays in the journal, with its attempts
// and the time of the next one, until its forward is delivered or failed
// for good. Why here and not in the capture log or the store: a retry
// waits up to hours, and a log consumer cannot commit past a record it
// still has to act on without holding back the log's retention (every
// record behind it); the store is not a queue (ClickHouse has neither
// transactions nor cheap deletes). The journal is local work of this
// instance, fsynced before anything is acted on, so each retry is run by
// exactly one instance: the one that captured (or was asked to redeliver)
// the request. See retry.go for the limits that brings in a cluster.
type Journal struct {
	path     string
	maxBytes int64
	sync     bool

	mu        sync.Mutex
	f         *os.File
	size      int64
	compacted int64 // size after the last rewrite: what was pending then
	pending   map[uuid.UUID]*journalEntry
	retries   []*journalEntry // to schedule again, read on open
}

// journalEntry is one forward the journal holds.
type journalEntry struct {
	req *schema.Request
	// cfg is the forward setting the entry was captured (or last tried)
	// with; nil for lines written before retries existed.
	cfg *schema.ForwardConfig
	// upsert: a record of the id may be in the log already, so every later
	// record of it is an update (caplog.UpdateEntry).
	upsert bool
	// base is how many attempts the forward had when this series began (a
	// redelivery starts a new series on a failed forward).
	base int
	// sent is the request as it arrived when redaction changed req: what
	// the target gets, on the first attempt and on every retry. When the
	// forward retries, it is written to the journal with the entry (its
	// headers and body, the only fields redaction changes) and leaves it
	// with the entry, so a retry after a restart sends the same bytes as
	// the first attempt.
	sent *schema.Request
	// asStored: the forward sends the record as stored, by design
	// (Redeliver), so a redacted req without sent is expected.
	asStored bool
	// seen: a retry found the request in the store once, so a later
	// lookup that does not find it means it was deleted (retrier.gone).
	seen bool
}

// size is what the entry holds in bodies (the retry memory bound).
func (e *journalEntry) size() int {
	n := len(e.req.Body)
	if e.sent != nil && e.sent != e.req {
		n += len(e.sent.Body)
	}
	return n
}

// JournalInterrupted is the forward error of a recovered record.
const JournalInterrupted = "hookscope stopped before the forward finished; not forwarded"

type journalLine struct {
	Op     string                `json:"op"` // "add" or "done"
	ID     uuid.UUID             `json:"id"`
	Req    *schema.Request       `json:"req,omitempty"`
	Body   []byte                `json:"body,omitempty"` // Request.Body is not in its JSON form
	Cfg    *schema.ForwardConfig `json:"cfg,omitempty"`
	Upsert bool                  `json:"upsert,omitempty"`
	Base   int                   `json:"base,omitempty"`
	// Orig is the request as it arrived when redaction changed Req
	// (journalEntry.sent).
	Orig     *journalOrig `json:"orig,omitempty"`
	AsStored bool         `json:"as_stored,omitempty"`
	Seen     bool         `json:"seen,omitempty"`
}

// journalOrig is what redaction changes in a request: its headers and body.
type journalOrig struct {
	Headers []schema.Header `json:"headers"`
	Body    []byte          `json:"body,omitempty"`
}

func (e *journalEntry) line(id uuid.UUID) journalLine {
	l := journalLine{Op: "add", ID: id, Req: e.req, Body: e.req.Body, Cfg: e.cfg, Upsert: e.upsert, Base: e.base, AsStored: e.asStored, Seen: e.seen}
	if e.keepsOrig() {
		l.Orig = &journalOrig{Headers: e.sent.Headers, Body: e.sent.Body}
	}
	return l
}

// keepsOrig: the entry's line carries the request as it arrived. Only a
// forward that may be retried needs it after a restart (one without
// retries is recorded interrupted): no other entry puts what redaction
// removed on disk.
func (e *journalEntry) keepsOrig() bool {
	return e.sent != nil && e.sent != e.req && e.cfg != nil && e.cfg.Retry != nil
}

// scrubBytes: when an entry that carried an original leaves a journal of at
// most this size, the file is rewritten at once, so the original does not
// wait for the next compaction on disk. Past it (many large retries
// pending) the rewrite would cost more than it is worth per delivery, and
// the next compaction removes it.
const scrubBytes = 8 << 20

// entry is the journal entry an "add" line holds.
func (l *journalLine) entry() *journalEntry {
	l.Req.Body = l.Body
	e := &journalEntry{req: l.Req, cfg: l.Cfg, upsert: l.Upsert, base: l.Base, asStored: l.AsStored, seen: l.Seen}
	if l.Orig != nil {
		s := *l.Req
		s.Headers, s.Body, s.Redacted = l.Orig.Headers, l.Orig.Body, nil
		e.sent = &s
	}
	return e
}

// JournalOptions configure OpenJournal.
type JournalOptions struct {
	// MaxBytes compacts the file past this size (default 64 MiB).
	MaxBytes int64
	// Sync fdatasyncs every Add before it returns.
	Sync bool
}

// OpenJournal opens (creating) the journal at path and returns the records
// that were in flight when the previous process stopped, with their
// Forward.Error set to JournalInterrupted. They stay pending until the
// caller marks them Done (after appending them to the capture log).
// Entries whose forward has a retry policy are not among them: they are
// tried again (Pipeline.StartRetries).
func OpenJournal(path string, opts JournalOptions) (*Journal, []*schema.Request, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	j := &Journal{path: path, maxBytes: opts.MaxBytes, sync: opts.Sync, pending: make(map[uuid.UUID]*journalEntry)}
	var order []uuid.UUID
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<31-1)
		for sc.Scan() {
			var l journalLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				continue // a line torn by the crash
			}
			switch l.Op {
			case "add":
				if l.Req != nil {
					if _, seen := j.pending[l.ID]; !seen {
						order = append(order, l.ID)
					}
					j.pending[l.ID] = l.entry()
				}
			case "done":
				delete(j.pending, l.ID)
			}
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read forward journal: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("open forward journal: %w", err)
	}
	var recovered []*schema.Request
	for _, id := range order {
		e, ok := j.pending[id]
		if ok && e.retries() {
			j.retries = append(j.retries, e)
			continue
		}
		if ok {
			r := e.req
			fw := schema.Forward{Mode: "async", Error: JournalInterrupted}
			if r.Forward != nil {
				fw.URL = r.Forward.URL
			}
			r.Forward = &fw
			recovered = append(recovered, r)
		}
	}
	// Rewrite the file with what is still pending, then append to it.
	if err := j.rewriteLocked(); err != nil {
		return nil, nil, err
	}
	return j, recovered, nil
}

// Add records r as in flight (a first attempt, no retry policy known).
func (j *Journal) Add(r *schema.Request) error {
	return j.put(journalEntry{req: r})
}

// put records e (a copy) as pending, replacing what the journal held for
// its id, and fdatasyncs it when the journal syncs.
func (j *Journal) put(e journalEntry) error {
	if e.sent == e.req {
		e.sent = nil
	}
	cp := *e.req
	if e.req.Forward != nil {
		fw := *e.req.Forward
		cp.Forward = &fw
	}
	e.req = &cp
	b, err := json.Marshal(e.line(cp.ID))
	if err != nil {
		return fmt.Errorf("encode journal entry: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("forward journal closed")
	}
	if err := j.writeLocked(append(b, '\n')); err != nil {
		return err
	}
	if j.sync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync forward journal: %w", err)
		}
	}
	j.pending[cp.ID] = &e
	if j.overgrownLocked() {
		// Every retry appends its entry again: without this, a journal
		// whose entries all wait for retries would never shrink. The line
		// is durable already; a failed compaction keeps the old file.
		if err := j.rewriteLocked(); err != nil {
			return err
		}
	}
	return nil
}

// overgrownLocked: the file is past MaxBytes and at least twice what is
// pending (the size after the last compaction), so compacting it is worth
// it (amortised: each byte is rewritten a bounded number of times).
func (j *Journal) overgrownLocked() bool {
	return j.size > j.maxBytes && j.size > 2*j.compacted
}

// takeRetries returns (once) the entries OpenJournal found waiting for a
// retry.
func (j *Journal) takeRetries() []*journalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := j.retries
	j.retries = nil
	return r
}

// retries reports whether the entry's forward may be tried again.
func (e *journalEntry) retries() bool {
	if e.cfg == nil || e.cfg.Retry == nil {
		return false
	}
	p, err := forward.ParsePolicy(e.cfg.Retry)
	if err != nil {
		return false
	}
	n := 0
	if e.req.Forward != nil {
		n = len(e.req.Forward.Attempts)
	}
	return n-e.base < p.MaxAttempts
}

// Done marks a record as appended to the capture log.
func (j *Journal) Done(id uuid.UUID) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.pending[id]
	if !ok || j.f == nil {
		return nil
	}
	delete(j.pending, id)
	if len(j.pending) == 0 || j.overgrownLocked() || (e.keepsOrig() && j.size <= scrubBytes) {
		return j.rewriteLocked()
	}
	b, _ := json.Marshal(journalLine{Op: "done", ID: id})
	return j.writeLocked(append(b, '\n'))
}

// Pending is how many records are in flight.
func (j *Journal) Pending() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending)
}

func (j *Journal) writeLocked(b []byte) error {
	n, err := j.f.Write(b)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("write forward journal: %w", err)
	}
	return nil
}

// rewriteLocked replaces the file with one "add" line per pending record
// (an empty file when nothing is in flight).
func (j *Journal) rewriteLocked() error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("compact forward journal: %w", err)
	}
	w := bufio.NewWriter(f)
	var size int64
	for id, e := range j.pending {
		b, err := json.Marshal(e.line(id))
		if err != nil {
			f.Close()
			return fmt.Errorf("encode journal entry: %w", err)
		}
		n, _ := w.Write(append(b, '\n'))
		size += int64(n)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("compact forward journal: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("compact forward journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("compact forward journal: %w", err)
	}
	nf, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("reopen forward journal: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.size, j.compacted = nf, size, size
	return nil
}

// Close closes the file. Records still pending stay in it for the next start.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// RecoverForwards records the async forwards a previous process left in the
// journal (OpenJournal's recovered list) in the capture log and, once they
// are durable there, clears them from the journal. A crash in between
// appends them again on the next start: the store keeps the first of an id. Call it before capture starts.
func (p *Pipeline) RecoverForwards(ctx context.Context, recovered []*schema.Request) error {
	if len(recovered) == 0 || p.opts.Journal == nil {
		return nil
	}
	for _, r := range recovered {
		if err := p.record(ctx, r); err != nil {
			return fmt.Errorf("recover interrupted forwards: %w", err)
		}
	}
	for _, r := range recovered {
		if err := p.opts.Journal.Done(r.ID); err != nil {
			return fmt.Errorf("recover interrupted forwards: %w", err)
		}
	}
	p.lg.Warn("recorded async forwards interrupted by the previous stop", "requests", len(recovered))
	return nil
}
