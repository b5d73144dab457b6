package disklog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func open(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func mkEntry(i int, size int) caplog.Entry {
	id := uuid.Must(uuid.NewV7())
	data := fmt.Appendf(nil, "record-%d-", i)
	for len(data) < size {
		data = append(data, byte('a'+i%26))
	}
	return caplog.Entry{Key: fmt.Sprintf("bin%d", i%4), ID: id, Data: data}
}

func appendN(t *testing.T, l *Log, n, size int) []caplog.Entry {
	t.Helper()
	es := make([]caplog.Entry, n)
	for i := range es {
		es[i] = mkEntry(i, size)
		if err := l.Append(ctx(t), es[i]); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return es
}

// readAll reads every record from the oldest on.
func readAll(t *testing.T, l *Log) []caplog.Record {
	t.Helper()
	r, err := l.Reader(ctx(t), caplog.FromOldest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []caplog.Record
	for {
		c, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		recs, err := r.Next(c, 10000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
}

func ids(recs []caplog.Record) []uuid.UUID {
	out := make([]uuid.UUID, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func entryIDs(es []caplog.Entry) []uuid.UUID {
	out := make([]uuid.UUID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// seedOfDir reads a log's checksum seed from its first segment header.
func seedOfDir(t *testing.T, dir string) uint32 {
	t.Helper()
	b, err := os.ReadFile(segFiles(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	return seedOf(b[8:16])
}

// frameOffsets lists the frame starts of a segment written by the log.
func frameOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := int64(segHeaderLen); off < int64(len(b)); {
		n := binary.LittleEndian.Uint32(b[off+4:])
		offs = append(offs, off)
		off += frameHeaderLen + int64(n)
	}
	return offs
}

func patchFile(t *testing.T, path string, off int64, fn func(b []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fn(b[off:])
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// A crash in the middle of a write leaves part of a frame at the end of the
// last segment: Open cuts it off (not counted as corruption), keeps every
// whole frame, and the log takes appends again after it.
func TestTornTailTruncated(t *testing.T) {
	tails := map[string]func(seed uint32) []byte{
		"half a frame": func(seed uint32) []byte {
			e := mkEntry(99, 300)
			f := appendFrame(nil, seed, 1000, 1, &e)
			return f[:len(f)/2]
		},
		"header only": func(seed uint32) []byte {
			e := mkEntry(99, 300)
			return appendFrame(nil, seed, 1000, 1, &e)[:frameHeaderLen]
		},
		"a few bytes":      func(uint32) []byte { return []byte{0x48, 0x43} },
		"zeros (delalloc)": func(uint32) []byte { return make([]byte, 4096) },
		"whole frame, payload zeroed": func(seed uint32) []byte {
			e := mkEntry(99, 300)
			f := appendFrame(nil, seed, 1000, 1, &e)
			clear(f[frameHeaderLen:])
			return f
		},
	}
	for name, tail := range tails {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir, Options{})
			es := appendN(t, l, 20, 200)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			seg := segFiles(t, dir)[0]
			good := fileSize(t, seg)
			f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tail(seedOfDir(t, dir))); err != nil {
				t.Fatal(err)
			}
			f.Close()

			l = open(t, dir, Options{})
			if got := fileSize(t, seg); got != good {
				t.Fatalf("segment is %d bytes after open, want %d (torn tail cut)", got, good)
			}
			m := l.Metrics()
			wantTorn := uint64(1)
			if strings.HasPrefix(name, "zeros") {
				wantTorn = 0 // the unused end of a preallocated segment, or a delalloc tail: trimmed, not torn
			}
			if m.TornTruncations.Load() != wantTorn || m.CorruptFrames.Load() != 0 {
				t.Fatalf("torn=%d corrupt=%d, want %d and 0", m.TornTruncations.Load(), m.CorruptFrames.Load(), wantTorn)
			}
			more := appendN(t, l, 3, 50)
			if got, want := ids(readAll(t, l)), append(entryIDs(es), entryIDs(more)...); !slices.Equal(got, want) {
				t.Fatalf("after repair: %d records, want %d in order", len(got), len(want))
			}
		})
	}
}

// Damage inside the log (not a torn tail) is skipped, counted once and the
// records around it survive: a damaged payload skips exactly one frame, a
// damaged header makes the reader search for the next valid frame.
func TestCorruptFrameSkipped(t *testing.T) {
	cases := []struct {
		name   string
		frame  int   // which frame to damage
		offset int64 // where inside it
	}{
		{"payload byte", 5, frameHeaderLen + 20},
		{"header magic", 5, 0},
		{"header length", 5, 5},
		{"first frame", 0, 10},
		{"last frame of a sealed segment", -1, frameHeaderLen + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentBytes: 8 << 10, MaxBytes: 1 << 20}
			l := open(t, dir, opts)
			es := appendN(t, l, 80, 300) // several segments of ~24 frames
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			segs := segFiles(t, dir)
			if len(segs) < 3 {
				t.Fatalf("want several segments, have %d", len(segs))
			}
			// Damage the second segment (sealed, not the last one).
			seg := segs[1]
			offs := frameOffsets(t, seg)
			i := tc.frame
			if i < 0 {
				i = len(offs) - 1
			}
			patchFile(t, seg, offs[i]+tc.offset, func(b []byte) { b[0] ^= 0xff })
			// Which record sat there: count the frames of segment 0.
			victim := len(frameOffsets(t, segs[0])) + i

			var logBuf bytes.Buffer
			opts.Logger = newTestLogger(&logBuf)
			l = open(t, dir, opts)
			m := l.Metrics()
			if m.CorruptFrames.Load() != 1 {
				t.Fatalf("corrupt regions = %d, want 1", m.CorruptFrames.Load())
			}
			if !bytes.Contains(logBuf.Bytes(), []byte("damaged region")) {
				t.Fatalf("damage not logged: %s", logBuf.String())
			}
			want := slices.Delete(entryIDs(es), victim, victim+1)
			got := ids(readAll(t, l))
			if !slices.Equal(got, want) {
				t.Fatalf("read %d records, want %d (all but #%d)", len(got), len(want), victim)
			}
			// Reading it again (another reader) does not count it again.
			readAll(t, l)
			if m.CorruptFrames.Load() != 1 {
				t.Fatalf("corrupt regions = %d after a second read, want 1", m.CorruptFrames.Load())
			}
		})
	}
}

// Damage in the middle of the last segment is not a torn tail: the frames
// after it are kept.
func TestCorruptMiddleOfLastSegment(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	es := appendN(t, l, 10, 100)
	l.Close()
	seg := segFiles(t, dir)[0]
	offs := frameOffsets(t, seg)
	patchFile(t, seg, offs[4]+2, func(b []byte) { b[0] ^= 1 })
	l = open(t, dir, Options{})
	got := ids(readAll(t, l))
	if want := slices.Delete(entryIDs(es), 4, 5); !slices.Equal(got, want) {
		t.Fatalf("read %d records, want the 9 around the damage", len(got))
	}
	if l.Metrics().CorruptFrames.Load() != 1 || l.Metrics().TornTruncations.Load() != 0 {
		t.Fatalf("corrupt=%d torn=%d, want 1 and 0", l.Metrics().CorruptFrames.Load(), l.Metrics().TornTruncations.Load())
	}
}

// A frame whose header is valid but claims more than the record limit is
// damage, not an allocation.
func TestHugeLengthIsCorruption(t *testing.T) {
	e := mkEntry(1, 10)
	f := appendFrame(nil, 7, 1, 1, &e)
	binary.LittleEndian.PutUint32(f[4:], 1<<31)
	binary.LittleEndian.PutUint32(f[28:], crcHeader(7, f))
	if _, _, err := decodeFrame(f, 7, 1<<20); err != errBadHeader {
		t.Fatalf("decode: %v, want errBadHeader", err)
	}
}

// A second process (or a second Open) cannot use the same directory.
func TestDirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, caplog.ErrUnavailable) {
		t.Fatalf("second open: %v, want ErrUnavailable", err)
	}
}

// The log refuses appends at its cap with ErrFull, keeps refusing while a
// consumer holds the data, and takes appends again once the consumer has
// committed and retention deleted the passed segments. Disk use stays under
// the cap throughout.
func TestCapRetentionAndRoom(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 64 << 10, SegmentBytes: 8 << 10}
	l := open(t, dir, opts)
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for ; ; n++ {
		err := l.Append(ctx(t), mkEntry(n, 500))
		if errors.Is(err, caplog.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 1000 {
			t.Fatal("no ErrFull")
		}
	}
	if du := dirBytes(t, dir); du > opts.MaxBytes+4096 {
		t.Fatalf("log uses %d bytes on disk, cap %d", du, opts.MaxBytes)
	}
	if l.Metrics().FullRefusals.Load() != 1 {
		t.Fatalf("full refusals = %d", l.Metrics().FullRefusals.Load())
	}
	// Fetching without committing frees nothing.
	b, err := c.Fetch(ctx(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx(t), mkEntry(0, 500)); !errors.Is(err, caplog.ErrFull) {
		t.Fatalf("append before commit: %v, want ErrFull", err)
	}
	// Committing everything frees the sealed segments.
	if err := c.Commit(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	for {
		b, err := c.Fetch(ctx(t), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Commit(ctx(t), b); err != nil {
			t.Fatal(err)
		}
		if uint64(b.Last()) == l.Stats().Last {
			break
		}
	}
	// Passed segments stay for the retention grace until an Append needs
	// their room.
	appendN(t, l, n/2, 500)
	if l.Metrics().SegmentsDeleted.Load() == 0 {
		t.Fatal("no segment deleted although appends needed the room")
	}
	if st := l.Stats(); st.Bytes > opts.MaxBytes {
		t.Fatalf("stats: %d bytes over the cap", st.Bytes)
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	var total int64
	for _, s := range segFiles(t, dir) {
		total += fileSize(t, s)
	}
	return total
}

// With no consumer at all nothing counts as passed: the log never deletes
// what nobody has read.
func TestNoConsumerKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{MaxBytes: 64 << 10, SegmentBytes: 8 << 10})
	var n int
	for ; l.Append(ctx(t), mkEntry(n, 500)) == nil; n++ {
	}
	if got := len(readAll(t, l)); got != n {
		t.Fatalf("read %d records, appended %d", got, n)
	}
	if l.Metrics().SegmentsDeleted.Load() != 0 {
		t.Fatal("a segment was deleted with no consumer")
	}
}

// Retention keeps passed segments for Retention after their last record, and
// deletes them afterwards (the clock is injected).
func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l := open(t, dir, Options{SegmentBytes: 8 << 10, MaxBytes: 1 << 20, Retention: time.Hour, Now: clock})
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 100, 300)
	drain := func() {
		for {
			b, err := c.Fetch(ctx(t), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Commit(ctx(t), b); err != nil {
				t.Fatal(err)
			}
			if uint64(b.Last()) == l.Stats().Last {
				return
			}
		}
	}
	drain()
	before := len(segFiles(t, dir))
	if l.Metrics().SegmentsDeleted.Load() != 0 {
		t.Fatal("young passed segments deleted")
	}
	now = now.Add(2 * time.Hour)
	appendN(t, l, 1, 10)
	drain()
	if after := len(segFiles(t, dir)); after != 1 || l.Metrics().SegmentsDeleted.Load() != uint64(before-1) {
		t.Fatalf("segments %d -> %d, deleted %d; want only the active one left", before, after, l.Metrics().SegmentsDeleted.Load())
	}
}

// A damaged positions file (outside damage; a crash cannot produce one) is
// moved aside and consumers start afresh rather than the log refusing to
// open.
func TestDamagedPositionsFile(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	appendN(t, l, 3, 10)
	c, _ := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	b, _ := c.Fetch(ctx(t), 10)
	if err := c.Commit(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, positionsFile), []byte("{garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	l = open(t, dir, Options{})
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err = c.Fetch(ctx(t), 10)
	if err != nil || len(b.Records) != 3 {
		t.Fatalf("fetch after damaged positions: %d records, %v; want all 3 again", len(b.Records), err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "positions.damaged-*")); len(m) != 1 {
		t.Fatalf("damaged positions file not kept aside: %v", m)
	}
}

// Entries beyond the record limit are refused before anything is written.
func TestRecordLimit(t *testing.T) {
	l := open(t, t.TempDir(), Options{MaxRecordBytes: 1000})
	e := mkEntry(1, 1001)
	if err := l.Append(ctx(t), e); !errors.Is(err, caplog.ErrInvalid) {
		t.Fatalf("append of 1001 bytes: %v, want ErrInvalid", err)
	}
	if err := l.Append(ctx(t), mkEntry(2, 1000)); err != nil {
		t.Fatal(err)
	}
}

// A reader keeps reading a segment that retention deleted under it (its
// handle stays valid) and then continues with what is left.
func TestReaderOutlivesRetention(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{SegmentBytes: 8 << 10, MaxBytes: 1 << 20, Retention: -1})
	es := appendN(t, l, 100, 300)
	r, err := l.Reader(ctx(t), caplog.FromOldest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first, err := r.Next(ctx(t), 5) // opens the first segment
	if err != nil {
		t.Fatal(err)
	}
	c, _ := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	for {
		b, err := c.Fetch(ctx(t), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Commit(ctx(t), b); err != nil {
			t.Fatal(err)
		}
		if uint64(b.Last()) == l.Stats().Last {
			break
		}
	}
	if l.Stats().Segments != 1 {
		t.Fatalf("%d segments left, want 1", l.Stats().Segments)
	}
	rest, err := r.Next(ctx(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	// The rest of the open segment, then a jump to the active segment.
	all := append(first, rest...)
	for {
		c, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		more, err := r.Next(c, 1000)
		cancel()
		if err != nil {
			break
		}
		all = append(all, more...)
	}
	var last caplog.Position
	for _, rec := range all {
		if rec.Position <= last {
			t.Fatalf("positions out of order: %d after %d", rec.Position, last)
		}
		last = rec.Position
	}
	if all[len(all)-1].ID != es[len(es)-1].ID {
		t.Fatal("reader did not reach the newest record")
	}
}

// A damaged segment header is counted; the frames behind it are still read
// (the salt is the same in every segment), and the log starts a new active
// segment instead of appending behind the damage.
func TestDamagedSegmentHeader(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 8 << 10, MaxBytes: 1 << 20}
	l := open(t, dir, opts)
	es := appendN(t, l, 60, 300)
	l.Close()
	segs := segFiles(t, dir)
	last := segs[len(segs)-1]
	patchFile(t, last, 0, func(b []byte) { b[0] ^= 0xff })

	l = open(t, dir, opts)
	if l.Metrics().CorruptFrames.Load() != 1 {
		t.Fatalf("corrupt regions = %d, want 1 (the header)", l.Metrics().CorruptFrames.Load())
	}
	if n := len(segFiles(t, dir)); n != len(segs)+1 {
		t.Fatalf("%d segments after open, want %d (a new active one)", n, len(segs)+1)
	}
	more := appendN(t, l, 3, 50)
	want := append(entryIDs(es), entryIDs(more)...)
	if got := ids(readAll(t, l)); !slices.Equal(got, want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	l.Close()
	l = open(t, dir, opts)
	if got := ids(readAll(t, l)); !slices.Equal(got, want) {
		t.Fatalf("after reopen: read %d records, want %d", len(got), len(want))
	}
}

// Preallocated segments: appends overwrite a zero-filled file; a sealed
// segment loses its unused zeros; a reopen trims the active segment's zero
// tail without calling it torn or damaged, and reads everything back.
func TestPreallocatedSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 64 << 10, MaxBytes: 4 << 20, Preallocate: true}
	l := open(t, dir, opts)
	es := appendN(t, l, 400, 500) // several rotations
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	active := segs[len(segs)-1]
	// Either the preparer's spare (full size) or a plain one if it was
	// not ready yet; sealed ones are trimmed to their frames.
	for _, sg := range segs[:len(segs)-1] {
		if sz := fileSize(t, sg); sz > opts.SegmentBytes {
			t.Fatalf("sealed segment %s is %d bytes", sg, sz)
		}
	}
	// Simulate a crash: copy the directory while the log is open (the
	// active segment still has its zero tail), then open the copy.
	crashed := t.TempDir()
	for _, sg := range segFiles(t, dir) {
		b, err := os.ReadFile(sg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, filepath.Base(sg)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, positionsFile)); err == nil {
		os.WriteFile(filepath.Join(crashed, positionsFile), b, 0o640)
	}
	hadZeros := fileSize(t, active) == opts.SegmentBytes
	l.Close()
	if m, _ := filepath.Glob(filepath.Join(dir, "spare-*")); len(m) != 0 {
		t.Fatalf("spare files left after Close: %v", m)
	}
	c := open(t, crashed, opts)
	if got := ids(readAll(t, c)); !slices.Equal(got, entryIDs(es)) {
		t.Fatalf("read %d records from the crashed copy, want %d", len(got), len(es))
	}
	m := c.Metrics()
	if m.TornTruncations.Load() != 0 || m.CorruptFrames.Load() != 0 {
		t.Fatalf("torn=%d corrupt=%d after reopening a preallocated log, want 0 and 0", m.TornTruncations.Load(), m.CorruptFrames.Load())
	}
	if hadZeros && fileSize(t, filepath.Join(crashed, filepath.Base(active))) >= opts.SegmentBytes {
		t.Fatal("zero tail of the active segment not trimmed")
	}
	more := appendN(t, c, 3, 10)
	if got := ids(readAll(t, c)); !slices.Equal(got, append(entryIDs(es), entryIDs(more)...)) {
		t.Fatal("appends after the reopen not read back")
	}
}

// Closing a handle that holds uncommitted batches rewinds its consumer name:
// those records come again (to the other handle), and committing a batch
// handed out before the rewind fails with ErrStale instead of moving the
// position past records that were not processed.
func TestHandleCloseRewinds(t *testing.T) {
	l := open(t, t.TempDir(), Options{})
	es := appendN(t, l, 6, 10)
	h1, _ := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	h2, _ := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	b1, err := h1.Fetch(ctx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := h2.Fetch(ctx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.Close(); err != nil { // dies with b1 uncommitted
		t.Fatal(err)
	}
	if err := h2.Commit(ctx(t), b2); !errors.Is(err, ErrStale) {
		t.Fatalf("commit after the rewind: %v, want ErrStale", err)
	}
	if p, _ := h2.Position(ctx(t)); p != 0 {
		t.Fatalf("position %d after a stale commit, want 0", p)
	}
	var got []caplog.Record
	for len(got) < len(es) {
		b, err := h2.Fetch(ctx(t), 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Records...)
		if err := h2.Commit(ctx(t), b); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(ids(got), entryIDs(es)) {
		t.Fatal("records not all delivered again after the rewind")
	}
	_ = b1
}

// Everything at once, under -race: appenders rotating small segments, a
// store consumer committing (so retention deletes behind it), and a live
// reader from the tail. The consumer sees every record exactly once; the
// reader sees records in order, all of them when retention keeps passed
// segments for a while (the default), and possibly fewer when retention is
// immediate and the reader lags behind the consumer (readers do not hold
// back retention).
func TestConcurrentRotationRetention(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
	}{{"immediate", -1}, {"default grace", 0}} {
		t.Run(tc.name, func(t *testing.T) { concurrentRotation(t, tc.retention) })
	}
}

func concurrentRotation(t *testing.T, retention time.Duration) {
	l := open(t, t.TempDir(), Options{SegmentBytes: 16 << 10, MaxBytes: 8 << 20, Retention: retention})
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Reader(ctx(t), caplog.FromLatest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const writers, per = 8, 250
	total := writers * per
	errc := make(chan error, writers+2)
	var wg, appenders sync.WaitGroup
	for g := range writers {
		appenders.Go(func() {
			for i := range per {
				if err := l.Append(ctx(t), mkEntry(g*per+i, 400)); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	consumed := map[uuid.UUID]int{}
	wg.Go(func() {
		for n := 0; n < total+1; {
			b, err := c.Fetch(ctx(t), 64)
			if err != nil {
				errc <- err
				return
			}
			for _, rec := range b.Records {
				consumed[rec.ID]++
			}
			n += len(b.Records)
			if err := c.Commit(ctx(t), b); err != nil {
				errc <- err
				return
			}
		}
	})
	sentinel := mkEntry(-1, 10)
	var live []caplog.Record
	wg.Go(func() {
		for {
			recs, err := r.Next(ctx(t), 100)
			if err != nil {
				errc <- err
				return
			}
			live = append(live, recs...)
			if recs[len(recs)-1].ID == sentinel.ID {
				return
			}
		}
	})
	appenders.Wait()
	if err := l.Append(ctx(t), sentinel); err != nil { // the reader stops at it
		t.Fatal(err)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("%v (consumed %d, live %d of %d; deleted %d segments)", err, len(consumed), len(live), total, l.Metrics().SegmentsDeleted.Load())
	}
	if len(consumed) != total+1 {
		t.Fatalf("consumer saw %d distinct records, want %d", len(consumed), total+1)
	}
	for id, n := range consumed {
		if n != 1 {
			t.Fatalf("record %s consumed %d times", id, n)
		}
	}
	for i, rec := range live {
		if i > 0 && rec.Position <= live[i-1].Position {
			t.Fatalf("live reader out of order at %d", i)
		}
		if consumed[rec.ID] != 1 {
			t.Fatalf("live reader returned a record the consumer never saw")
		}
	}
	deleted := l.Metrics().SegmentsDeleted.Load()
	if retention < 0 {
		if deleted == 0 {
			t.Fatal("retention never ran: the test did not exercise deletion under readers")
		}
		t.Logf("immediate retention: live reader saw %d of %d records, %d segments deleted", len(live), total+1, deleted)
	} else {
		if deleted != 0 {
			t.Fatalf("%d segments deleted inside the retention grace", deleted)
		}
		if len(live) != total+1 {
			t.Fatalf("live reader saw %d records, want all %d", len(live), total+1)
		}
	}
}
