package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// memWriter is a store stand-in whose availability the test switches. It
// deduplicates by id like real stores must.
type memWriter struct {
	mu    sync.Mutex
	down  bool
	rows  map[uuid.UUID]*schema.Request
	order []uuid.UUID
	calls int
}

func newMemWriter() *memWriter { return &memWriter{rows: map[uuid.UUID]*schema.Request{}} }

func (w *memWriter) WriteRequests(_ context.Context, reqs []*schema.Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.down {
		return fmt.Errorf("write: %w", schema.ErrUnavailable)
	}
	for _, r := range reqs {
		if _, ok := w.rows[r.ID]; !ok {
			w.rows[r.ID] = r
			w.order = append(w.order, r.ID)
		}
	}
	return nil
}

func (w *memWriter) setDown(d bool) { w.mu.Lock(); w.down = d; w.mu.Unlock() }

func (w *memWriter) count() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.rows) }

func mkReq(i int) *schema.Request {
	id, _ := uuid.NewV7()
	return &schema.Request{ID: id, BinID: "b", ReceivedAt: schema.Truncate(time.Now()), Method: "POST", Path: "/",
		Body: []byte(fmt.Sprintf(`{"i":%d,"bin":"\x00\xff"}`, i)), BodySize: 10}
}

func newTestBatcher(t *testing.T, w Writer, dir string, opts BatcherOptions) *Batcher {
	t.Helper()
	sp, err := OpenSpool(dir, SpoolOptions{MaxBytes: opts.MaxQueueBytes + 1<<20})
	if err != nil {
		t.Fatal(err)
	}
	opts.Spool = sp
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 20 * time.Millisecond
	}
	b, err := NewBatcher(w, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()); _ = sp.Close() })
	return b
}

func TestBatcherWritesInBatches(t *testing.T) {
	w := newMemWriter()
	b := newTestBatcher(t, w, t.TempDir(), BatcherOptions{MaxBatch: 100, FlushInterval: time.Hour})
	for i := range 250 {
		if err := b.Enqueue(mkReq(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.count(); got != 250 {
		t.Fatalf("stored %d, want 250", got)
	}
	if w.calls != 3 { // 100 + 100 by size, 50 by Flush
		t.Errorf("writer calls = %d, want 3", w.calls)
	}
}

func TestBatcherSpoolsWhileStoreDownAndReplaysInOrder(t *testing.T) {
	w := newMemWriter()
	w.setDown(true)
	dir := t.TempDir()
	b := newTestBatcher(t, w, dir, BatcherOptions{MaxBatch: 10, FlushInterval: time.Millisecond})
	var want []uuid.UUID
	for i := range 95 {
		r := mkReq(i)
		want = append(want, r.ID)
		if err := b.Enqueue(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.count() != 0 {
		t.Fatal("store is down but has rows")
	}
	if b.opts.Spool.Empty() {
		t.Fatal("spool is empty while the store is down")
	}
	w.setDown(false)
	// Requests enqueued after the outage must land after the spooled ones.
	for i := 95; i < 100; i++ {
		r := mkReq(i)
		want = append(want, r.ID)
		if err := b.Enqueue(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.order) != len(want) {
		t.Fatalf("stored %d, want %d", len(w.order), len(want))
	}
	for i := range want {
		if w.order[i] != want[i] {
			t.Fatalf("row %d out of order", i)
		}
	}
	if !b.opts.Spool.Empty() {
		t.Fatal("spool not empty after replay")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("spool dir still has %d files", len(ents))
	}
}

func TestSpoolSurvivesRestartAndTornTail(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []*schema.Request
	for i := range 3 {
		batch := []*schema.Request{mkReq(2 * i), mkReq(2*i + 1)}
		want = append(want, batch...)
		if err := sp.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	_ = sp.Close()
	// A crash in the middle of an append leaves a torn frame at the tail.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{0, 0, 1, 0, 9, 9})
	_ = f.Close()

	sp2, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sp2.Empty() {
		t.Fatal("reopened spool is empty")
	}
	var got []*schema.Request
	n, err := sp2.Drain(func(b []*schema.Request) error { got = append(got, b...); return nil })
	if err != nil || n != len(want) {
		t.Fatalf("drain = %d, %v; want %d", n, err, len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || string(got[i].Body) != string(want[i].Body) || !got[i].ReceivedAt.Equal(want[i].ReceivedAt) {
			t.Fatalf("request %d differs after spool round trip", i)
		}
	}
	if !sp2.Empty() {
		t.Fatalf("spool holds %d bytes after drain", sp2.Bytes())
	}
}

func TestSpoolDrainStopsOnErrorAndResumes(t *testing.T) {
	sp, err := OpenSpool(t.TempDir(), SpoolOptions{ReplayBatch: 1}) // one fn call per request
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	for i := range 4 {
		if err := sp.Append([]*schema.Request{mkReq(i)}); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("down")
	calls := 0
	n, err := sp.Drain(func([]*schema.Request) error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("drain = %d, %v", n, err)
	}
	seen := map[uuid.UUID]int{}
	if _, err := sp.Drain(func(b []*schema.Request) error {
		for _, r := range b {
			seen[r.ID]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The segment restarts from its beginning: at-least-once, so stores dedupe by id.
	if len(seen) != 4 {
		t.Fatalf("resumed drain saw %d distinct requests, want 4", len(seen))
	}
	if !sp.Empty() {
		t.Fatal("spool not empty")
	}
}

func TestEnqueueOverflowGoesToSpoolThenRefuses(t *testing.T) {
	w := newMemWriter()
	w.setDown(true)
	dir := t.TempDir()
	sp, err := OpenSpool(dir, SpoolOptions{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	b, err := NewBatcher(w, BatcherOptions{Spool: sp, QueueLen: 1, MaxQueueBytes: 1, FlushInterval: time.Hour, RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	accepted, refused := 0, 0
	for i := range 200 {
		switch err := b.Enqueue(mkReq(i)); {
		case err == nil:
			accepted++
		case errors.Is(err, ErrOverloaded):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if refused == 0 || accepted == 0 {
		t.Fatalf("accepted %d refused %d: want both", accepted, refused)
	}
	w.setDown(false)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.count(); got != accepted {
		t.Fatalf("stored %d of %d accepted", got, accepted)
	}
}

// Overflowed captures are frames of one request each; Drain merges them so
// the store gets a few large batches, in order, not one write per request.
func TestSpoolDrainMergesFrames(t *testing.T) {
	sp, err := OpenSpool(t.TempDir(), SpoolOptions{ReplayBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var want []uuid.UUID
	for i := range 10 {
		r := mkReq(i)
		want = append(want, r.ID)
		if err := sp.Append([]*schema.Request{r}); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int
	var got []uuid.UUID
	n, err := sp.Drain(func(b []*schema.Request) error {
		sizes = append(sizes, len(b))
		for _, r := range b {
			got = append(got, r.ID)
		}
		return nil
	})
	if err != nil || n != 10 {
		t.Fatalf("drain = %d, %v", n, err)
	}
	if !slices.Equal(sizes, []int{4, 4, 2}) {
		t.Errorf("batch sizes = %v, want [4 4 2]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("order after merge = %v, want %v", got, want)
	}
}

// Concurrent appends share fsyncs (group commit) and every one of them is
// replayed, also across segment rotations.
func TestSpoolConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(dir, SpoolOptions{SegmentBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := sp.Append([]*schema.Request{mkReq(w*each + i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) < 2 {
		t.Fatalf("%d segments: the test wants rotations", len(segs))
	}
	sp2, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]bool{}
	if _, err := sp2.Drain(func(b []*schema.Request) error {
		for _, r := range b {
			seen[r.ID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != workers*each {
		t.Fatalf("replayed %d distinct requests, want %d", len(seen), workers*each)
	}
}

// gatedWriter holds its first write until open is closed.
type gatedWriter struct {
	*memWriter
	open chan struct{}
}

func (g gatedWriter) WriteRequests(ctx context.Context, reqs []*schema.Request) error {
	<-g.open
	return g.memWriter.WriteRequests(ctx, reqs)
}

// Requests that overflowed to the spool while the store was healthy (only
// slow) are replayed with the next batch, not at the next retry tick: until
// the spool is empty every batch would take the slow way through it.
func TestOverflowReplaysWithNextBatch(t *testing.T) {
	w := gatedWriter{newMemWriter(), make(chan struct{})}
	sp, err := OpenSpool(t.TempDir(), SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	b, err := NewBatcher(w, BatcherOptions{Spool: sp, QueueLen: 4, MaxBatch: 2, FlushInterval: 5 * time.Millisecond, RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	// The writer is stuck in its first batch: the queue fills, the rest
	// overflows to the spool.
	const n = 50
	for i := range n {
		if err := b.Enqueue(mkReq(i)); err != nil {
			t.Fatal(err)
		}
	}
	if sp.Empty() {
		t.Fatal("nothing overflowed: the test needs a spool to replay")
	}
	close(w.open)
	deadline := time.Now().Add(5 * time.Second)
	for w.count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.count(); got < n {
		t.Fatalf("stored %d of %d requests without a retry tick", got, n)
	}
	if !sp.Empty() {
		t.Errorf("spool still holds %d bytes", sp.Bytes())
	}
}
