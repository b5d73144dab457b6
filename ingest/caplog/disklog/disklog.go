// Package disklog is the single-node capture log: append-only segment files
// of checksummed frames in one directory, group commit, durable named
// consumers and retention by whole segments. It implements caplog.Log; the
// on-disk format and the recovery rules are in README.md one level up.
package disklog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
)

var _ caplog.Log = (*Log)(nil)

// AckMode says when Append returns.
type AckMode int

const (
	// AckDurable: after the fdatasync that covers the entries (default).
	AckDurable AckMode = iota
	// AckFast: after the entries are written to the file, before the sync.
	// A crash of the process loses nothing (the kernel has the bytes); a
	// crash of the machine or the OS can lose what the running sync had
	// not yet covered: the appends of the last sync interval, usually
	// well under a few ms of traffic.
	AckFast
)

// ParseAckMode reads "durable" or "fast" (HOOKSCOPE_ACK).
func ParseAckMode(s string) (AckMode, error) {
	switch s {
	case "", "durable":
		return AckDurable, nil
	case "fast":
		return AckFast, nil
	}
	return 0, fmt.Errorf("ack mode %q: want durable or fast: %w", s, caplog.ErrInvalid)
}

func (m AckMode) String() string {
	if m == AckFast {
		return "fast"
	}
	return "durable"
}

// Options configure Open. Zero values mean the defaults.
type Options struct {
	Ack AckMode
	// MaxBytes caps the log's size on disk (plus what waits in memory for
	// its sync). An Append that does not fit once retention has freed what
	// it may fails with caplog.ErrFull. Default 1 GiB.
	MaxBytes int64
	// SegmentBytes rotates the active segment past this size; retention
	// deletes whole segments. Default 32 MiB, at most MaxBytes/8.
	SegmentBytes int64
	// Retention keeps segments that every consumer has committed past for
	// this long after their last record, so that readers lagging behind
	// the consumers (the live feed) and replays can still read them. They
	// are deleted earlier when an Append needs room under MaxBytes.
	// Default 1 minute; negative: delete as soon as every consumer has
	// passed them.
	Retention time.Duration
	// MaxRecordBytes bounds one entry's Data. Default 16 MiB.
	MaxRecordBytes int
	// MaxPendingBytes bounds what waits in memory for the next write;
	// Append blocks (until its ctx ends) beyond it. Default 32 MiB.
	MaxPendingBytes int
	// Preallocate prepares the next segment in the background, written
	// full of zeros and synced, so that appends overwrite allocated blocks
	// and never change the file size: fdatasync then has no metadata to
	// journal (measured here: a write+fdatasync 25-40% faster). It costs
	// one segment of disk beyond MaxBytes and writing every segment twice.
	Preallocate bool
	// FastSyncInterval is, in fast ack mode, the least time between two
	// background fdatasyncs (default 10ms): a machine crash loses at most
	// about this much of what was acknowledged. Syncing back to back
	// instead costs an fdatasync per few appends, CPU that capture needs.
	FastSyncInterval time.Duration
	// NoGather turns off gathering in durable mode: with it off, the
	// flusher starts each write+sync as soon as the previous one ended,
	// with whatever appends are pending (see flushLoop for what gathering
	// does and what it measured).
	NoGather bool
	// Logger receives recovery and error reports (component=caplog).
	// Nil discards.
	Logger *slog.Logger
	// Now is the clock of record times and retention. Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 32 << 20
	}
	o.SegmentBytes = max(min(o.SegmentBytes, o.MaxBytes/8), 4<<10)
	if o.Retention == 0 {
		o.Retention = time.Minute
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = 16 << 20
	}
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = 32 << 20
	}
	if o.FastSyncInterval <= 0 {
		o.FastSyncInterval = 10 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Log is a capture log in one directory. Safe for concurrent use; one
// process per directory (an flock on dir/LOCK enforces it).
type Log struct {
	dir        string
	opts       Options
	log        *slog.Logger
	m          *Metrics
	lock       *os.File
	salt       []byte
	seed       uint32
	maxPayload int

	mu      sync.Mutex
	closed  bool
	closing chan struct{} // closed by Close: wakes every waiter
	segs    []*segment    // ascending by first; the last one is active
	nextSeq uint64
	total   int64 // bytes of all segments plus pending frames
	// Pending frames: the next write. Appends add to it while the flusher
	// writes and syncs the previous one, so one fdatasync covers every
	// append that arrived during the previous sync (group commit).
	buf       []byte
	bufFirst  uint64
	bufLast   uint64
	bufN      int
	bufFirstT int64
	bufLastT  int64
	lastT     int64 // newest record time: record times never go backwards
	group     *group
	roomCh    chan struct{} // closed when the flusher takes buf
	notify    chan struct{} // closed when records become visible
	// Consumers: persisted positions and live state by name.
	saved     map[string]uint64 // positions as last written to disk
	positions map[string]uint64 // positions as committed in memory
	posGen    uint64            // bumped on every change of positions
	cons      map[string]*consumerState
	// corruptSeen dedupes corruption reports (open-time scan and cursors
	// both find the same region).
	corruptSeen map[[2]int64]bool

	wake chan struct{}
	// Gathering (durable mode, flushLoop): the flusher holds a group back
	// until gatherWant records are pending; the Append that reaches that
	// number signals gathered. gatherWant is 0 when the flusher does not
	// wait. Under mu.
	gatherWant  int
	gathered    chan struct{}
	flusherDone chan struct{}
	// Owned by the flusher goroutine; active is replaced under syncMu too,
	// because the fast-mode syncer syncs it.
	active     *os.File
	activeSize int64
	needRotate atomic.Bool // set after a failed write or sync: never append to that file again
	syncMu     sync.Mutex
	// Fast mode: the syncer goroutine syncs behind the flusher.
	syncReq    chan struct{}
	syncerDone chan struct{}
	unsynced   atomic.Uint64 // records written since the syncer's last sync
	// Preallocate: the preparer hands zero-filled segments over spares.
	spares   chan *spare
	prepWake chan struct{}
	prepDone chan struct{}

	pmu          sync.Mutex // serialises writes of the positions file
	posFile      *os.File
	savedGen     uint64 // posGen of the last successful write (under pmu)
	savedSlotGen uint64 // generation in the newest valid slot (under pmu)
}

// group is one write+sync: every Append whose frames it carries waits on it.
type group struct {
	done chan struct{}
	err  error
}

// segment is one file. first names it; a segment holds the positions from
// first to the next segment's first - 1.
type segment struct {
	first uint64
	path  string
	// size is the readable size: only whole, written (durable, in
	// durable mode) frames lie below it.
	size atomic.Int64
	// sealed: no more frames will be added; set after size is final.
	sealed   atomic.Bool
	badHead  bool  // header damaged at open: never appended to
	firstT   int64 // time of the first record (0: none yet); under Log.mu
	lastT    int64 // time of the last record; under Log.mu
	lastSeq  uint64
	nRecords int64
}

func segName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

func unavailable(step string, err error) error {
	return fmt.Errorf("%w: %s: %w", caplog.ErrUnavailable, step, err)
}

// Open opens the log in dir, creating it if needed, and repairs what a crash
// left: a torn frame at the tail of the last segment is truncated, damaged
// frames elsewhere are skipped and counted (Metrics().CorruptFrames) and
// logged. Errors wrap caplog.ErrUnavailable when the directory cannot be
// used (read-only, I/O errors, another process holds it).
func Open(dir string, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, unavailable("create log directory", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, unavailable("open lock file", err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		return nil, unavailable("lock "+dir+" (another hookscope uses it?)", err)
	}
	l := &Log{
		dir:         dir,
		opts:        opts,
		log:         opts.Logger.With("component", "caplog", "dir", dir),
		m:           &Metrics{},
		lock:        lf,
		maxPayload:  1 + caplog.MaxKeyLen + 16 + opts.MaxRecordBytes,
		closing:     make(chan struct{}),
		roomCh:      make(chan struct{}),
		notify:      make(chan struct{}),
		cons:        map[string]*consumerState{},
		corruptSeen: map[[2]int64]bool{},
		wake:        make(chan struct{}, 1),
		gathered:    make(chan struct{}, 1),
		flusherDone: make(chan struct{}),
		syncReq:     make(chan struct{}, 1),
		syncerDone:  make(chan struct{}),
		spares:      make(chan *spare),
		prepWake:    make(chan struct{}, 1),
		prepDone:    make(chan struct{}),
	}
	if err := l.loadPositions(); err != nil {
		lf.Close()
		return nil, err
	}
	if err := l.recover(); err != nil {
		if l.active != nil {
			l.active.Close()
		}
		l.posFile.Close()
		lf.Close()
		return nil, err
	}
	go l.flushLoop()
	if opts.Ack == AckFast {
		go l.syncLoop()
	} else {
		close(l.syncerDone)
	}
	if opts.Preallocate {
		go l.prepareLoop()
	} else {
		close(l.prepDone)
	}
	l.mu.Lock()
	l.retainLocked(0)
	l.mu.Unlock()
	return l, nil
}

// Metrics returns the log's counters (live values).
func (l *Log) Metrics() *Metrics { return l.m }

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// recover scans every segment, repairs the tail, and prepares the active
// segment and the next sequence number.
func (l *Log) recover() error {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return unavailable("read log directory", err)
	}
	var firsts []uint64
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(l.dir, name)) // an interrupted positions write
			continue
		}
		base, ok := strings.CutSuffix(name, ".seg")
		if !ok || len(base) != 20 {
			continue
		}
		first, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	l.salt = l.findSalt(firsts)
	if l.salt == nil {
		l.salt = make([]byte, 8)
		if _, err := rand.Read(l.salt); err != nil {
			return fmt.Errorf("caplog salt: %w", err)
		}
	}
	l.seed = seedOf(l.salt)

	var maxSeq uint64
	for i, first := range firsts {
		last := i == len(firsts)-1
		var bound uint64 // exclusive upper bound of this segment's positions
		if !last {
			bound = firsts[i+1]
		}
		s, err := l.recoverSegment(first, bound, last)
		if err != nil {
			return err
		}
		if s == nil {
			continue // removed (a torn creation)
		}
		l.segs = append(l.segs, s)
		l.total += s.size.Load()
		maxSeq = max(maxSeq, s.lastSeq, first-min(first, 1))
		if s.badHead {
			// A new active segment will follow it: its name must differ.
			maxSeq = max(maxSeq, first)
		}
	}
	// Never reuse a position: not one a record had, nor one a consumer
	// committed (in fast mode a consumer can commit past what a machine
	// crash then loses; new records must still come after its position).
	for _, p := range l.saved {
		maxSeq = max(maxSeq, p)
	}
	l.nextSeq = maxSeq + 1
	for _, s := range l.segs[:max(0, len(l.segs)-1)] {
		s.sealed.Store(true)
	}
	if n := len(l.segs); n > 0 && !l.segs[n-1].badHead {
		s := l.segs[n-1]
		f, err := os.OpenFile(s.path, os.O_RDWR, 0)
		if err != nil {
			return unavailable("open active segment", err)
		}
		l.active, l.activeSize = f, s.size.Load()
		if l.activeSize >= l.opts.SegmentBytes {
			l.needRotate.Store(true)
		}
		return nil
	}
	if n := len(l.segs); n > 0 {
		l.segs[n-1].sealed.Store(true)
	}
	return l.createSegment(l.nextSeq)
}

// findSalt reads the salt from the first segment whose header is intact.
func (l *Log) findSalt(firsts []uint64) []byte {
	for _, first := range firsts {
		f, err := os.Open(filepath.Join(l.dir, segName(first)))
		if err != nil {
			continue
		}
		var h [segHeaderLen]byte
		_, err = f.ReadAt(h[:], 0)
		f.Close()
		if err == nil && string(h[:8]) == segMagic {
			return slices.Clone(h[8:])
		}
	}
	return nil
}

// recoverSegment checks one segment. bound is the first position of the next
// segment (0 for the last one).
func (l *Log) recoverSegment(first, bound uint64, last bool) (*segment, error) {
	path := filepath.Join(l.dir, segName(first))
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, unavailable("open segment", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, unavailable("stat segment", err)
	}
	size := st.Size()
	s := &segment{first: first, path: path}
	var h [segHeaderLen]byte
	n, _ := f.ReadAt(h[:], 0)
	if n < segHeaderLen || string(h[:8]) != segMagic || string(h[8:]) != string(l.salt) {
		if last && size < segHeaderLen {
			// Created, crashed before its header was synced: no frame
			// was ever written to it, let alone acknowledged.
			l.log.Warn("removing a segment torn at creation", "segment", filepath.Base(path), "bytes", size)
			if err := os.Remove(path); err != nil {
				return nil, unavailable("remove torn segment", err)
			}
			return nil, nil
		}
		s.badHead = true
		l.reportCorrupt(s, 0, min(size, segHeaderLen), errors.New("bad segment header"))
	}

	type event struct {
		off, n int64
		cause  error
	}
	var events []event
	sc := &scanner{
		r: f, seed: l.seed, maxPayload: l.maxPayload, pos: segHeaderLen, end: size,
		corrupt: func(off, n int64, cause error) { events = append(events, event{off, n, cause}) },
	}
	goodEnd := int64(segHeaderLen)
	prev := first - min(first, 1)
	var tornAt int64 = -1
	for {
		fr, err := sc.next()
		if err == errNoMoreFrame {
			tornAt = sc.pos
			break
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return nil, unavailable("read segment "+filepath.Base(path), err)
		}
		start := sc.pos - int64(frameHeaderLen+1+len(fr.key)+16+len(fr.data))
		if fr.seq <= prev || (bound > 0 && fr.seq >= bound) {
			// A valid checksum with an impossible position: treat as
			// damage rather than deliver it out of order.
			events = append(events, event{start, sc.pos - start, fmt.Errorf("position %d out of order after %d", fr.seq, prev)})
			continue
		}
		prev = fr.seq
		goodEnd = sc.pos
		s.lastSeq = fr.seq
		if s.firstT == 0 {
			s.firstT = fr.nanos
		}
		s.lastT = fr.nanos
		s.nRecords++
	}
	if size < segHeaderLen {
		goodEnd = size
	}
	if size > goodEnd && !s.badHead && tornAt >= 0 {
		zeros, err := allZero(f, goodEnd, size)
		if err != nil {
			return nil, unavailable("read segment "+filepath.Base(path), err)
		}
		if zeros {
			// The unused end of a preallocated segment: not damage.
			if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
				_ = f.Truncate(goodEnd)
				f.Close()
			}
			events = slices.DeleteFunc(events, func(e event) bool { return e.off >= goodEnd })
			size, tornAt = goodEnd, -1
		}
	}
	if last {
		// Damage after the last good frame of the last segment is a torn
		// tail (a crash mid-write): no append whose frame lies there was
		// acknowledged in durable mode, so it is cut off, not counted.
		for _, e := range events {
			if e.off < goodEnd {
				l.reportCorrupt(s, e.off, e.n, e.cause)
			}
		}
		if size > goodEnd && !s.badHead {
			l.log.Warn("truncating a torn tail", "segment", filepath.Base(path), "offset", goodEnd, "bytes", size-goodEnd)
			if err := f.Truncate(goodEnd); err != nil {
				return nil, unavailable("truncate torn tail", err)
			}
			if err := fdatasync(f); err != nil {
				return nil, unavailable("sync truncated segment", err)
			}
			l.m.TornTruncations.Add(1)
			l.m.TruncatedBytes.Add(uint64(size - goodEnd))
			size = goodEnd
		}
	} else {
		for _, e := range events {
			l.reportCorrupt(s, e.off, e.n, e.cause)
		}
		if tornAt >= 0 {
			l.reportCorrupt(s, tornAt, size-tornAt, errors.New("damaged end of a sealed segment"))
		}
	}
	s.size.Store(size)
	return s, nil
}

// reportCorrupt counts and logs a damaged region once, however many readers
// find it.
func (l *Log) reportCorrupt(s *segment, off, n int64, cause error) {
	key := [2]int64{int64(s.first), off}
	l.mu.Lock()
	seen := l.corruptSeen[key]
	if !seen && len(l.corruptSeen) < 1<<16 {
		l.corruptSeen[key] = true
	}
	l.mu.Unlock()
	if seen {
		return
	}
	l.m.CorruptFrames.Add(1)
	l.m.CorruptBytes.Add(uint64(n))
	l.log.Error("skipping a damaged region of the capture log", "segment", filepath.Base(s.path), "offset", off, "bytes", n, "cause", cause)
}

// createSegment makes a new active segment whose first position is first.
// Only recover and the flusher call it.
func (l *Log) createSegment(first uint64) error {
	path := filepath.Join(l.dir, segName(first))
	f := l.takeSpare(path)
	if f == nil {
		var err error
		if f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return unavailable("create segment", err)
		}
		hdr := append([]byte(segMagic), l.salt...)
		if _, err := f.WriteAt(hdr, 0); err != nil {
			f.Close()
			_ = os.Remove(path)
			return unavailable("write segment header", err)
		}
		if err := fdatasync(f); err != nil {
			f.Close()
			_ = os.Remove(path)
			return unavailable("sync segment header", err)
		}
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		_ = os.Remove(path)
		return unavailable("sync log directory", err)
	}
	s := &segment{first: first, path: path}
	s.size.Store(segHeaderLen)
	l.syncMu.Lock()
	old, oldSize := l.active, l.activeSize
	if old != nil && l.opts.Ack == AckFast && !l.needRotate.Load() {
		// The syncer may be behind: the sealed segment must be durable
		// before frames go to the next one.
		if err := fdatasync(old); err != nil {
			l.log.Error("sync of the sealed segment failed after fast-mode acknowledgements", "err", err)
		}
		l.m.SyncedRecords.Add(l.unsynced.Swap(0))
	}
	l.mu.Lock()
	if n := len(l.segs); n > 0 {
		l.segs[n-1].sealed.Store(true)
	}
	l.segs = append(l.segs, s)
	l.total += segHeaderLen
	l.active, l.activeSize = f, segHeaderLen
	l.needRotate.Store(false)
	l.retainLocked(0)
	l.mu.Unlock()
	l.syncMu.Unlock()
	if old != nil {
		if l.opts.Preallocate {
			// Drop the unused zeros of a preallocated segment. Not synced:
			// a zero tail left by a crash is recognised at open.
			_ = old.Truncate(oldSize)
		}
		_ = old.Close()
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append implements caplog.Appender.
func (l *Log) Append(ctx context.Context, entries ...caplog.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	size := 0
	for i := range entries {
		e := &entries[i]
		if !caplog.ValidKey(e.Key) {
			return fmt.Errorf("append entry %d: key of %d bytes is not a bin id: %w", i, len(e.Key), caplog.ErrInvalid)
		}
		if len(e.Data) > l.opts.MaxRecordBytes {
			return fmt.Errorf("append entry %d: %d bytes over the %d-byte record limit: %w", i, len(e.Data), l.opts.MaxRecordBytes, caplog.ErrInvalid)
		}
		size += frameHeaderLen + payloadLen(e)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	for !l.closed && len(l.buf) > 0 && len(l.buf)+size > l.opts.MaxPendingBytes {
		ch := l.roomCh
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("append: waiting for room to write: %w", ctx.Err())
		case <-l.closing:
		}
		l.mu.Lock()
	}
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("append: %w", caplog.ErrClosed)
	}
	if l.total+int64(size) > l.opts.MaxBytes {
		l.retainLocked(int64(size))
		if total := l.total; total+int64(size) > l.opts.MaxBytes {
			l.mu.Unlock()
			l.m.FullRefusals.Add(1)
			return fmt.Errorf("append %d bytes with %d of %d in use: %w", size, total, l.opts.MaxBytes, caplog.ErrFull)
		}
	}
	t := max(l.opts.Now().UnixNano(), l.lastT)
	l.lastT = t
	if len(l.buf) == 0 {
		l.bufFirst, l.bufFirstT = l.nextSeq, t
	}
	for i := range entries {
		l.buf = appendFrame(l.buf, l.seed, l.nextSeq, t, &entries[i])
		l.nextSeq++
	}
	l.bufLast, l.bufLastT = l.nextSeq-1, t
	l.bufN += len(entries)
	l.total += int64(size)
	g := l.group
	if g == nil {
		g = &group{done: make(chan struct{})}
		l.group = g
	}
	gathered := l.gatherWant > 0 && l.bufN >= l.gatherWant
	if gathered {
		l.gatherWant = 0
	}
	l.mu.Unlock()
	if gathered {
		select {
		case l.gathered <- struct{}{}:
		default:
		}
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case <-g.done:
		if g.err != nil {
			return g.err
		}
		l.m.Appends.Add(1)
		l.m.Records.Add(uint64(len(entries)))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("append: waiting for sync: %w", ctx.Err())
	}
}

// maxGather bounds how long the flusher holds a group back to gather.
const maxGather = time.Millisecond

// pending is one write handed from Append to the flusher.
type pending struct {
	buf           []byte
	g             *group
	first, last   uint64
	n             int
	firstT, lastT int64
}

// flushLoop is the group commit: it takes every pending append, writes them
// with one write and covers them with one fdatasync, and meanwhile lets the
// next group gather.
//
// Gathering (durable mode unless Options.NoGather). With one sync at a time,
// N appenders that each append again soon after their sync (HTTP clients
// with N connections) split into two cohorts that alternate: the ones
// waiting for the running sync and the ones it releases, which come back
// while the next sync runs. Each sync then carries about N/2 records, and
// every appender waits for a sync and a half. So before starting a write,
// when fewer records are pending than there were appenders in the previous
// round (the group it synced plus those that waited meanwhile), the flusher
// waits for the rest: until that many are pending, or half the previous
// write+sync, or at most maxGather. Measured with bench/ceiling -log (the
// durable ceiling, wrk, 16 connections, loaded machine): 6.5-7.2 records
// per sync before, 8.9-10.7 with it, 10-20% less CPU per request, req/s
// higher in 3 of 3 interleaved pairs (BENCHMARKS.md). A lone appender
// never waits (one appender in the previous round, one pending); a wait
// that finds nobody costs at most half a sync, once, and then the estimate
// follows what came.
func (l *Log) flushLoop() {
	defer close(l.flusherDone)
	var spare []byte
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		round    int           // appenders seen in the previous round
		lastSync time.Duration // the previous write+sync
	)
	for {
		l.mu.Lock()
		for len(l.buf) == 0 {
			if l.closed {
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			<-l.wake
			l.mu.Lock()
		}
		if wait := min(lastSync/2, maxGather); l.opts.Ack == AckDurable && !l.opts.NoGather && l.bufN < round && wait > 0 && !l.closed {
			l.gatherWant = round
			l.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-l.gathered:
			case <-timer.C:
			case <-l.closing:
			}
			timer.Stop()
			l.mu.Lock()
			l.gatherWant = 0
			// An Append that reached the number as the timer fired may
			// still signal after this; the next wait then ends early,
			// which costs nothing but a smaller group.
			select {
			case <-l.gathered:
			default:
			}
		}
		p := pending{buf: l.buf, g: l.group, first: l.bufFirst, last: l.bufLast, n: l.bufN, firstT: l.bufFirstT, lastT: l.bufLastT}
		l.buf, l.group, l.bufN = spare[:0], nil, 0
		close(l.roomCh)
		l.roomCh = make(chan struct{})
		l.mu.Unlock()
		start := time.Now()
		l.flush(p)
		lastSync = time.Since(start)
		l.mu.Lock()
		round = p.n + l.bufN // synced, and arrived during the sync
		l.mu.Unlock()
		if cap(p.buf) <= 4<<20 {
			spare = p.buf
		} else {
			spare = nil // one burst should not pin a large buffer
		}
	}
}

// flush writes and syncs one pending write (flusher goroutine only).
func (l *Log) flush(p pending) {
	if l.needRotate.Load() || l.activeSize > segHeaderLen && l.activeSize+int64(len(p.buf)) > l.opts.SegmentBytes {
		if err := l.createSegment(p.first); err != nil {
			l.fail(p, fmt.Errorf("rotate: %w", err))
			return
		}
	}
	off := l.activeSize
	if _, err := l.active.WriteAt(p.buf, off); err != nil {
		// Cut back any partial write so that the next frame does not
		// follow garbage; if that fails too, start a fresh segment.
		if terr := l.active.Truncate(off); terr != nil {
			l.needRotate.Store(true)
		}
		l.fail(p, unavailable("write segment", err))
		return
	}
	l.activeSize += int64(len(p.buf))
	if l.opts.Ack == AckFast {
		// Acknowledge now; the syncer covers these frames with its next
		// fdatasync while the flusher goes on writing.
		l.publish(p)
		close(p.g.done)
		l.unsynced.Add(uint64(p.n))
		select {
		case l.syncReq <- struct{}{}:
		default:
		}
		return
	}
	err := fdatasync(l.active)
	l.m.Syncs.Add(1)
	l.m.SyncedRecords.Add(uint64(p.n))
	if err != nil {
		// After a failed sync the file's state is unknown (the kernel may
		// have dropped the dirty pages): never append to it again. The
		// frames stay unpublished, so nothing in this process reads them;
		// the segment is sealed below them at the next rotation.
		l.needRotate.Store(true)
		l.activeSize = off
		l.fail(p, unavailable("sync segment", err))
		return
	}
	l.publish(p)
	close(p.g.done)
}

// syncLoop is the fast-mode syncer: it fdatasyncs the active segment when
// frames were written since its last sync, at most once per
// FastSyncInterval, so the loss window on a machine crash is about one
// interval plus one sync long.
func (l *Log) syncLoop() {
	defer close(l.syncerDone)
	pace := time.NewTimer(0)
	defer pace.Stop()
	for {
		_, running := <-l.syncReq
		if running {
			select {
			case <-pace.C: // the interval since the last sync has passed
			case <-l.closing: // Close: the last sync now
			}
		}
		l.syncMu.Lock()
		n := l.unsynced.Swap(0)
		var err error
		if n > 0 {
			err = fdatasync(l.active)
			l.m.Syncs.Add(1)
			l.m.SyncedRecords.Add(n)
		}
		l.syncMu.Unlock()
		if err != nil {
			l.needRotate.Store(true)
			l.m.WriteErrors.Add(1)
			l.log.Error("sync failed after fast-mode acknowledgements: those records may be lost on a machine crash", "records", n, "err", err)
		}
		if !running {
			return
		}
		pace.Reset(l.opts.FastSyncInterval)
	}
}

// fail ends a pending write with err: nothing of it is acknowledged.
func (l *Log) fail(p pending, err error) {
	l.m.WriteErrors.Add(1)
	l.log.Error("capture log write failed", "records", p.n, "err", err)
	l.mu.Lock()
	l.total -= int64(len(p.buf))
	l.mu.Unlock()
	p.g.err = err
	close(p.g.done)
}

// publish makes a written pending write visible to readers.
func (l *Log) publish(p pending) {
	l.mu.Lock()
	s := l.segs[len(l.segs)-1]
	s.size.Store(l.activeSize)
	s.lastSeq = p.last
	if s.firstT == 0 {
		s.firstT = p.firstT
	}
	s.lastT = p.lastT
	s.nRecords += int64(p.n)
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

// Close flushes pending appends, stops the flusher and closes the files.
// Consumers' and readers' blocked calls return caplog.ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.closing)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.flusherDone
	close(l.syncReq) // the syncer makes a last sync and stops
	<-l.syncerDone
	<-l.prepDone // closing stopped the preparer; it removed its spare
	var errs []error
	if l.active != nil {
		errs = append(errs, l.active.Close())
	}
	l.pmu.Lock() // let a running positions write finish first
	errs = append(errs, l.posFile.Close())
	l.pmu.Unlock()
	errs = append(errs, l.lock.Close())
	return errors.Join(errs...)
}

// retainLocked deletes the oldest segments that every durable consumer has
// committed past, when they are older than Retention or when need more bytes
// must fit under MaxBytes. It never deletes the active segment, and with no
// durable consumer it deletes nothing. Called with l.mu held.
func (l *Log) retainLocked(need int64) {
	if len(l.saved) == 0 {
		return
	}
	minPos := uint64(1<<64 - 1)
	for _, p := range l.saved {
		minPos = min(minPos, p)
	}
	now := l.opts.Now().UnixNano()
	for len(l.segs) > 1 {
		s, next := l.segs[0], l.segs[1]
		if next.first-1 > minPos {
			return // someone still needs it
		}
		old := l.opts.Retention < 0 || s.lastT == 0 || now-s.lastT >= int64(l.opts.Retention)
		tight := need > 0 && l.total+need > l.opts.MaxBytes
		if !old && !tight {
			return
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Error("retention: cannot delete a segment", "segment", filepath.Base(s.path), "err", err)
			return
		}
		l.total -= s.size.Load()
		l.segs = l.segs[1:]
		l.m.SegmentsDeleted.Add(1)
	}
}

// allZero reports whether bytes [from, to) of f are all zero.
func allZero(f *os.File, from, to int64) (bool, error) {
	buf := make([]byte, min(to-from, 1<<20))
	for off := from; off < to; {
		n := int(min(int64(len(buf)), to-off))
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return false, err
		}
		for _, c := range buf[:n] {
			if c != 0 {
				return false, nil
			}
		}
		off += int64(n)
	}
	return true, nil
}

// spare is a preallocated segment waiting for its name.
type spare struct {
	f    *os.File
	path string
}

// takeSpare renames a ready spare to path and returns its file, or nil when
// none is ready (the caller then creates a plain segment; the preparer is
// poked to try again).
func (l *Log) takeSpare(path string) *os.File {
	if !l.opts.Preallocate {
		return nil
	}
	if l.active == nil {
		// The first segment of a new log: prepare it here, the preparer
		// is not running yet.
		sp, err := l.makeSpare(-1)
		if err != nil {
			l.log.Warn("cannot preallocate the first segment", "err", err)
			return nil
		}
		if err := os.Rename(sp.path, path); err != nil {
			sp.f.Close()
			_ = os.Remove(sp.path)
			return nil
		}
		return sp.f
	}
	select {
	case sp := <-l.spares:
		if err := os.Rename(sp.path, path); err != nil {
			l.log.Warn("cannot use the preallocated segment", "err", err)
			sp.f.Close()
			_ = os.Remove(sp.path)
			return nil
		}
		return sp.f
	default:
		select {
		case l.prepWake <- struct{}{}:
		default:
		}
		return nil
	}
}

// prepareLoop keeps one zero-filled, synced segment ready for the next
// rotation.
func (l *Log) prepareLoop() {
	defer close(l.prepDone)
	for n := 0; ; n++ {
		sp, err := l.makeSpare(n)
		if err != nil {
			l.log.Warn("cannot preallocate the next segment", "err", err)
			select {
			case <-l.prepWake:
				continue
			case <-l.closing:
				return
			}
		}
		select {
		case l.spares <- sp:
		case <-l.closing:
			sp.f.Close()
			_ = os.Remove(sp.path)
			return
		}
	}
}

func (l *Log) makeSpare(n int) (*spare, error) {
	path := filepath.Join(l.dir, fmt.Sprintf("spare-%d.tmp", n))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*spare, error) {
		f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	chunk := make([]byte, 1<<20)
	copy(chunk, segMagic)
	copy(chunk[8:], l.salt)
	for off := int64(0); off < l.opts.SegmentBytes; {
		m := int(min(int64(len(chunk)), l.opts.SegmentBytes-off))
		if _, err := f.WriteAt(chunk[:m], off); err != nil {
			return fail(err)
		}
		if off == 0 {
			clear(chunk[:segHeaderLen])
		}
		off += int64(m)
		select {
		case <-l.closing:
			return fail(caplog.ErrClosed)
		default:
		}
	}
	if err := f.Sync(); err != nil { // full fsync: the allocation is metadata
		return fail(err)
	}
	return &spare{f: f, path: path}, nil
}
