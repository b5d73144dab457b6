package disklog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
)

// cursor reads records in position order across segments, from its own file
// handles: a segment deleted by retention stays readable through an open
// handle, and a cursor that needs a deleted segment continues at the oldest
// one left.
type cursor struct {
	l     *Log
	after uint64 // records at or below are skipped
	since int64  // records older than this (Unix ns) are skipped
	seg   *segment
	f     *os.File
	sc    scanner
	// slab holds the Data of small records back to back (one allocation
	// for many records); keys interns bin ids, which repeat.
	slab []byte
	keys map[string]string
}

const (
	slabSize    = 64 << 10
	slabMaxData = 8 << 10 // larger records get their own allocation
	maxKeys     = 4096
)

// own copies a frame's key and data out of the scanner's buffer.
func (c *cursor) own(fr *frame) (string, []byte) {
	key, ok := c.keys[string(fr.key)] // no allocation for the lookup
	if !ok {
		if c.keys == nil || len(c.keys) >= maxKeys {
			c.keys = make(map[string]string)
		}
		key = string(fr.key)
		c.keys[key] = key
	}
	if len(fr.data) > slabMaxData {
		return key, append([]byte(nil), fr.data...)
	}
	if cap(c.slab)-len(c.slab) < len(fr.data) {
		c.slab = make([]byte, 0, slabSize)
	}
	start := len(c.slab)
	c.slab = append(c.slab, fr.data...)
	// Full slice expression: appending to one record's Data can never
	// write into the next one's.
	return key, c.slab[start:len(c.slab):len(c.slab)]
}

func (c *cursor) close() {
	if c.f != nil {
		_ = c.f.Close()
	}
	c.f, c.seg = nil, nil
}

func (c *cursor) open(s *segment, pos int64) error {
	c.close()
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	c.seg, c.f = s, f
	buf := c.sc.buf[:0]
	c.sc = scanner{
		r: f, seed: c.l.seed, maxPayload: c.l.maxPayload, pos: pos, buf: buf,
		corrupt: func(off, n int64, cause error) { c.l.reportCorrupt(s, off, n, cause) },
	}
	return nil
}

// read returns up to max visible records after c.after without blocking.
func (c *cursor) read(max int) ([]caplog.Record, error) {
	var out []caplog.Record
	for tries := 0; c.seg == nil; tries++ {
		s := c.l.segmentFor(c.after + 1)
		if s == nil {
			return nil, nil
		}
		err := c.open(s, segHeaderLen)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) || tries > 100 {
			return nil, unavailable("open segment", err)
		}
		// Deleted by retention meanwhile: look again.
	}
	for len(out) < max {
		sealed := c.seg.sealed.Load() // before size: a sealed size is final
		c.sc.end = c.seg.size.Load()
		fr, err := c.sc.next()
		switch {
		case err == nil:
			if fr.seq <= c.after || fr.nanos < c.since {
				continue
			}
			key, data := c.own(&fr)
			out = append(out, caplog.Record{
				Entry:    caplog.Entry{Key: key, ID: fr.id, Data: data},
				Position: caplog.Position(fr.seq),
				Time:     time.Unix(0, fr.nanos).UTC(),
			})
			c.after = fr.seq
		case err == io.EOF:
			if !sealed {
				return out, nil
			}
			next := c.l.segmentAfter(c.seg.first)
			if next == nil {
				return out, nil
			}
			if err := c.open(next, segHeaderLen); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					c.close() // deleted meanwhile: segmentFor finds what is left
					return out, nil
				}
				return out, unavailable("open segment", err)
			}
		case err == errNoMoreFrame:
			// Published sizes end on whole frames, so this is damage
			// after the fact: count it and move past it.
			c.l.reportCorrupt(c.seg, c.sc.pos, c.sc.end-c.sc.pos, errors.New("no valid frame before the end"))
			c.sc.pos = c.sc.end
		default:
			return out, unavailable("read segment", err)
		}
	}
	return out, nil
}

// segmentFor is the segment that holds position p (or the oldest one when p
// is older than everything left).
func (l *Log) segmentFor(p uint64) *segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) == 0 {
		return nil
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > p })
	return l.segs[max(i-1, 0)]
}

// segmentAfter is the oldest segment that follows the one named first.
func (l *Log) segmentAfter(first uint64) *segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > first })
	if i == len(l.segs) {
		return nil
	}
	return l.segs[i]
}

// startCursor positions a cursor at start (for a Reader).
func (l *Log) startCursor(start caplog.Start) (cursor, error) {
	c := cursor{l: l}
	switch start.Policy {
	case caplog.StartOldest:
		return c, nil
	case caplog.StartAfter:
		c.after = uint64(start.After)
		return c, nil
	case caplog.StartLatest:
		// Straight to the end of the active segment: no scan. Records
		// appended but not yet visible have positions below nextSeq and
		// lie past that end, so skipping them by position is exact.
		l.mu.Lock()
		s := l.segs[len(l.segs)-1]
		c.after = l.nextSeq - 1
		end := s.size.Load()
		l.mu.Unlock()
		if err := c.open(s, end); err != nil {
			return c, unavailable("open segment", err)
		}
		return c, nil
	case caplog.StartTime:
		t := start.Time.UnixNano()
		l.mu.Lock()
		// Record times never decrease, so the last segment that starts
		// at or before t holds the first record at or after t (or the
		// one after it does).
		s := l.segs[0]
		for _, x := range l.segs {
			if x.firstT != 0 && x.firstT <= t {
				s = x
			}
		}
		l.mu.Unlock()
		c.since = t
		if err := c.open(s, segHeaderLen); err != nil {
			return c, unavailable("open segment", err)
		}
		return c, nil
	}
	return c, fmt.Errorf("start policy %d: %w", start.Policy, caplog.ErrInvalid)
}

// initialPosition is where a new consumer starts: the position just before
// the first record start selects.
func (l *Log) initialPosition(start caplog.Start) (uint64, error) {
	switch start.Policy {
	case caplog.StartOldest:
		return 0, nil
	case caplog.StartAfter:
		return uint64(start.After), nil
	case caplog.StartLatest:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.nextSeq - 1, nil
	case caplog.StartTime:
		l.mu.Lock()
		latest := l.nextSeq - 1
		l.mu.Unlock()
		c, err := l.startCursor(start)
		if err != nil {
			return 0, err
		}
		defer c.close()
		recs, err := c.read(1)
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			return latest, nil
		}
		return uint64(recs[0].Position) - 1, nil
	}
	return 0, fmt.Errorf("start policy %d: %w", start.Policy, caplog.ErrInvalid)
}

// consumerState is the shared state of one consumer name in this process.
type consumerState struct {
	name    string
	deleted chan struct{}

	mu          sync.Mutex
	cur         cursor
	epoch       uint64 // bumped by a rewind: older batches are stale
	outstanding []*span
	committed   uint64
	handles     map[*consumer]bool
	gone        bool
}

// span is a fetched batch: positions first..last, handed to h.
type span struct {
	first, last uint64
	h           *consumer
	done        bool
}

type batchToken struct {
	cs    *consumerState
	epoch uint64
	sp    *span
}

type consumer struct {
	l      *Log
	cs     *consumerState
	done   chan struct{}
	closed bool // under cs.mu
}

// Consumer implements caplog.Log.
func (l *Log) Consumer(ctx context.Context, name string, opts caplog.ConsumerOptions) (caplog.Consumer, error) {
	if !caplog.ValidKey(name) {
		return nil, fmt.Errorf("consumer name of %d bytes: %w", len(name), caplog.ErrInvalid)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, fmt.Errorf("consumer %s: %w", name, caplog.ErrClosed)
	}
	cs := l.cons[name]
	pos, known := l.positions[name]
	l.mu.Unlock()
	if cs == nil {
		if !known {
			var err error
			if pos, err = l.initialPosition(opts.Start); err != nil {
				return nil, fmt.Errorf("consumer %s: %w", name, err)
			}
		}
		l.mu.Lock()
		if existing := l.cons[name]; existing != nil { // lost a race
			cs = existing
		} else {
			cs = &consumerState{name: name, deleted: make(chan struct{}), cur: cursor{l: l, after: pos}, committed: pos, handles: map[*consumer]bool{}}
			l.cons[name] = cs
			if _, ok := l.positions[name]; !ok {
				l.positions[name] = pos
				l.posGen++
			}
		}
		l.mu.Unlock()
	}
	// Persist the name at once: retention must wait for it from now on,
	// also across a restart before its first commit.
	if err := l.persistPositions(); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	h := &consumer{l: l, cs: cs, done: make(chan struct{})}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.gone {
		return nil, fmt.Errorf("consumer %s: deleted meanwhile: %w", name, caplog.ErrClosed)
	}
	cs.handles[h] = true
	return h, nil
}

// DeleteConsumer implements caplog.Log.
func (l *Log) DeleteConsumer(ctx context.Context, name string) error {
	l.mu.Lock()
	cs := l.cons[name]
	delete(l.cons, name)
	_, known := l.positions[name]
	if known {
		delete(l.positions, name)
		l.posGen++
	}
	l.mu.Unlock()
	if cs != nil {
		cs.mu.Lock()
		if !cs.gone {
			cs.gone = true
			close(cs.deleted)
			cs.cur.close()
		}
		cs.mu.Unlock()
	}
	if !known {
		return nil
	}
	return l.persistPositions()
}

// Fetch implements caplog.Consumer.
func (h *consumer) Fetch(ctx context.Context, max int) (caplog.Batch, error) {
	if max < 1 {
		return caplog.Batch{}, fmt.Errorf("fetch %d records: %w", max, caplog.ErrInvalid)
	}
	cs := h.cs
	for {
		if err := ctx.Err(); err != nil {
			return caplog.Batch{}, err
		}
		notify, err := h.l.notifyChan()
		if err != nil {
			return caplog.Batch{}, err
		}
		cs.mu.Lock()
		if h.closed || cs.gone {
			cs.mu.Unlock()
			return caplog.Batch{}, fmt.Errorf("fetch from %s: %w", cs.name, caplog.ErrClosed)
		}
		recs, err := cs.cur.read(max)
		if len(recs) > 0 {
			sp := &span{first: uint64(recs[0].Position), last: uint64(recs[len(recs)-1].Position), h: h}
			cs.outstanding = append(cs.outstanding, sp)
			tok := &batchToken{cs: cs, epoch: cs.epoch, sp: sp}
			cs.mu.Unlock()
			return caplog.Batch{Records: recs, Token: tok}, nil
		}
		cs.mu.Unlock()
		if err != nil {
			return caplog.Batch{}, fmt.Errorf("fetch from %s: %w", cs.name, err)
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return caplog.Batch{}, ctx.Err()
		case <-h.l.closing:
			return caplog.Batch{}, fmt.Errorf("fetch from %s: %w", cs.name, caplog.ErrClosed)
		case <-h.done:
			return caplog.Batch{}, fmt.Errorf("fetch from %s: %w", cs.name, caplog.ErrClosed)
		case <-cs.deleted:
			return caplog.Batch{}, fmt.Errorf("fetch from %s: deleted: %w", cs.name, caplog.ErrClosed)
		}
	}
}

// notifyChan is the channel closed when more records become visible.
func (l *Log) notifyChan() (chan struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, caplog.ErrClosed
	}
	return l.notify, nil
}

// ErrStale: Commit of a batch that was handed out again meanwhile (another
// handle of its consumer closed with batches uncommitted, which rewinds the
// consumer to its committed position). Its records come again.
var ErrStale = errors.New("batch handed out again")

// Commit implements caplog.Consumer.
func (h *consumer) Commit(ctx context.Context, b caplog.Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	cs := h.cs
	tok, ok := b.Token.(*batchToken)
	if !ok || tok.cs != cs {
		return fmt.Errorf("commit to %s: batch not fetched from this consumer: %w", cs.name, caplog.ErrInvalid)
	}
	cs.mu.Lock()
	if cs.gone {
		cs.mu.Unlock()
		return fmt.Errorf("commit to %s: %w", cs.name, caplog.ErrClosed)
	}
	if tok.epoch != cs.epoch {
		cs.mu.Unlock()
		return fmt.Errorf("commit to %s: %w", cs.name, ErrStale)
	}
	tok.sp.done = true
	pos := cs.committed
	for len(cs.outstanding) > 0 && cs.outstanding[0].done {
		pos = max(pos, cs.outstanding[0].last)
		cs.outstanding = cs.outstanding[1:]
	}
	changed := pos > cs.committed
	if changed {
		cs.committed = pos
		h.l.mu.Lock()
		if _, ok := h.l.positions[cs.name]; ok || h.l.cons[cs.name] == cs {
			h.l.positions[cs.name] = pos
			h.l.posGen++
		}
		h.l.mu.Unlock()
	}
	cs.mu.Unlock()
	if !changed {
		return nil
	}
	if err := h.l.persistPositions(); err != nil {
		return fmt.Errorf("commit to %s: %w", cs.name, err)
	}
	return nil
}

// Position implements caplog.Consumer: the position as written to disk.
func (h *consumer) Position(ctx context.Context) (caplog.Position, error) {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	p, ok := h.l.saved[h.cs.name]
	if !ok {
		return 0, fmt.Errorf("position of %s: %w", h.cs.name, caplog.ErrClosed)
	}
	return caplog.Position(p), nil
}

// Close implements caplog.Consumer. Closing the last handle of a name, or
// one that holds uncommitted batches, rewinds the name to its committed
// position so that those records are delivered again.
func (h *consumer) Close() error {
	cs := h.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	close(h.done)
	delete(cs.handles, h)
	rewind := len(cs.handles) == 0
	for _, sp := range cs.outstanding {
		if sp.h == h && !sp.done {
			rewind = true
		}
	}
	if rewind && !cs.gone {
		cs.epoch++
		cs.outstanding = nil
		cs.cur.close()
		cs.cur = cursor{l: h.l, after: cs.committed}
	}
	return nil
}

// reader is the non-durable caplog.Reader.
type reader struct {
	l      *Log
	mu     sync.Mutex
	cur    cursor
	closed bool
	done   chan struct{}
}

// Reader implements caplog.Log.
func (l *Log) Reader(ctx context.Context, start caplog.Start) (caplog.Reader, error) {
	if _, err := l.notifyChan(); err != nil {
		return nil, fmt.Errorf("reader: %w", err)
	}
	cur, err := l.startCursor(start)
	if err != nil {
		return nil, fmt.Errorf("reader: %w", err)
	}
	return &reader{l: l, cur: cur, done: make(chan struct{})}, nil
}

// Next implements caplog.Reader.
func (r *reader) Next(ctx context.Context, max int) ([]caplog.Record, error) {
	if max < 1 {
		return nil, fmt.Errorf("next %d records: %w", max, caplog.ErrInvalid)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		notify, err := r.l.notifyChan()
		if err != nil {
			return nil, fmt.Errorf("reader: %w", err)
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, fmt.Errorf("reader: %w", caplog.ErrClosed)
		}
		recs, err := r.cur.read(max)
		r.mu.Unlock()
		if len(recs) > 0 {
			return recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reader: %w", err)
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.l.closing:
			return nil, fmt.Errorf("reader: %w", caplog.ErrClosed)
		case <-r.done:
			return nil, fmt.Errorf("reader: %w", caplog.ErrClosed)
		}
	}
}

// Close implements caplog.Reader.
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.done)
		r.cur.close()
	}
	return nil
}
