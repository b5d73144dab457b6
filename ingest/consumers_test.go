package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/schema"
)

// memWriter is a store stand-in whose availability the test switches. It
// deduplicates by id like real stores must, and remembers batch sizes.
type memWriter struct {
	mu      sync.Mutex
	down    bool
	rows    map[uuid.UUID]*schema.Request
	order   []uuid.UUID
	calls   int
	batches []int
}

func newMemWriter() *memWriter { return &memWriter{rows: map[uuid.UUID]*schema.Request{}} }

func (w *memWriter) WriteRequests(_ context.Context, reqs []*schema.Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.down {
		return fmt.Errorf("write: %w", schema.ErrUnavailable)
	}
	w.batches = append(w.batches, len(reqs))
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

func (w *memWriter) snapshot() (order []uuid.UUID, batches []int, calls int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.order), slices.Clone(w.batches), w.calls
}

// waitUntil polls cond until it holds or a generous deadline passes (a
// deadline for polling, not a timed assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// collector is an Observer and a Publisher that remembers ids.
type collector struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (c *collector) Observe(r *schema.Request) {
	c.mu.Lock()
	c.ids = append(c.ids, r.ID)
	c.mu.Unlock()
}
func (c *collector) PublishRecord(bin string, data []byte) {
	r, err := caplog.DecodeRequestOwned(data)
	if err != nil || r.BinID != bin {
		panic(fmt.Sprintf("published record of bin %q: %+v, %v", bin, r, err))
	}
	c.Observe(r)
}
func (c *collector) got() []uuid.UUID { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.ids) }

// captureN captures n deliveries into bin b1 and returns the answered ids
// in order.
func captureN(t *testing.T, p *Pipeline, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for i := range n {
		resp, err := p.Capture(context.Background(), "b1", &Incoming{Method: "POST", Body: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil || resp.Status != 200 {
			t.Fatalf("capture %d: %d %v", i, resp.Status, err)
		}
		ids = append(ids, uuid.MustParse(resp.RequestID))
	}
	return ids
}

// TestWriterStoresInBatches: every captured request reaches the store once,
// in capture order, in batches of at most MaxBatch.
func TestWriterStoresInBatches(t *testing.T) {
	l := openTestLog(t, t.TempDir(), 0)
	w := newMemWriter()
	c, err := StartConsumers(context.Background(), l, w, nil, nil, ConsumerOptions{MaxBatch: 100, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	p := NewPipeline(oneBin{"b1"}, l, Options{})
	ids := captureN(t, p, 250)
	waitUntil(t, "250 stored", func() bool { return w.count() == 250 })
	order, batches, _ := w.snapshot()
	if !slices.Equal(order, ids) {
		t.Fatal("store order differs from capture order")
	}
	for _, n := range batches {
		if n > 100 {
			t.Fatalf("batch of %d, MaxBatch 100", n)
		}
	}
}

// TestWriterFallsBehindWhileStoreDown: with the store down, capture keeps
// answering (the log holds the records), the writer retries, and once the
// store answers everything answered is stored exactly once, in order.
func TestWriterFallsBehindWhileStoreDown(t *testing.T) {
	l := openTestLog(t, t.TempDir(), 0)
	w := newMemWriter()
	w.setDown(true)
	c, err := StartConsumers(context.Background(), l, w, nil, nil, ConsumerOptions{MaxBatch: 50, FlushInterval: 5 * time.Millisecond, RetryInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	p := NewPipeline(oneBin{"b1"}, l, Options{})
	ids := captureN(t, p, 120)
	waitUntil(t, "the writer to retry", func() bool { _, _, calls := w.snapshot(); return calls >= 3 })
	if w.count() != 0 {
		t.Fatal("stored while down")
	}
	w.setDown(false)
	ids = append(ids, captureN(t, p, 30)...)
	waitUntil(t, "150 stored", func() bool { return w.count() == 150 })
	if order, _, _ := w.snapshot(); !slices.Equal(order, ids) {
		t.Fatal("order not kept across the outage")
	}
}

// TestConsumersResumeFromPositions: a restart (consumers and log closed and
// reopened) resumes the store writer and the alert observer where they
// committed: what the store did not take before the stop is written after
// it, nothing twice; the live feed starts at the tail.
func TestConsumersResumeFromPositions(t *testing.T) {
	dir := t.TempDir()
	l := openTestLog(t, dir, 0)
	w := newMemWriter()
	obs, pub := &collector{}, &collector{}
	c, err := StartConsumers(context.Background(), l, w, obs, pub, ConsumerOptions{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPipeline(oneBin{"b1"}, l, Options{})
	first := captureN(t, p, 20)
	waitUntil(t, "20 stored, observed and published", func() bool {
		return w.count() == 20 && len(obs.got()) == 20 && len(pub.got()) == 20
	})
	// The store goes down; 10 more are captured and observed, not stored.
	w.setDown(true)
	second := captureN(t, p, 10)
	waitUntil(t, "30 observed", func() bool { return len(obs.got()) == 30 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	c.Close(ctx)
	cancel()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	w.setDown(false)
	l = openTestLog(t, dir, 0)
	obs2, pub2 := &collector{}, &collector{}
	c, err = StartConsumers(context.Background(), l, w, obs2, pub2, ConsumerOptions{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	waitUntil(t, "the backlog stored", func() bool { return w.count() == 30 })
	p = NewPipeline(oneBin{"b1"}, l, Options{})
	third := captureN(t, p, 5)
	waitUntil(t, "35 stored", func() bool { return w.count() == 35 })
	waitUntil(t, "the new captures observed and published", func() bool { return len(obs2.got()) >= 5 && len(pub2.got()) >= 5 })
	if order, _, _ := w.snapshot(); !slices.Equal(order, slices.Concat(first, second, third)) {
		t.Fatal("store order after restart differs from capture order")
	}
	// The alert observer had committed the 30 before the stop; the live
	// feed starts at the tail: both see only the 5 new ones.
	if got := obs2.got(); !slices.Equal(got, third) {
		t.Errorf("alerts after restart saw %d records, want the 5 new ones", len(got))
	}
	if got := pub2.got(); !slices.Equal(got, third) {
		t.Errorf("live after restart saw %d records, want the 5 new ones", len(got))
	}
}

// TestCaptureRefusedAtLogCap: while the store is down the log fills to its
// cap; past it capture answers 503 naming the cause (nothing is answered
// 2xx that the log did not take); once the store is back the writer
// catches up, retention frees the log and capture answers 2xx again.
func TestCaptureRefusedAtLogCap(t *testing.T) {
	l := openTestLog(t, t.TempDir(), 256<<10)
	w := newMemWriter()
	w.setDown(true)
	c, err := StartConsumers(context.Background(), l, w, nil, nil, ConsumerOptions{FlushInterval: time.Millisecond, RetryInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	m := NewMetrics()
	p := NewPipeline(oneBin{"b1"}, l, Options{Metrics: m})
	body := make([]byte, 4096)
	var answered []uuid.UUID
	var resp Response
	for i := 0; ; i++ {
		if i > 10_000 {
			t.Fatal("a 256 KiB log took 40 MB of captures")
		}
		resp, err = p.Capture(context.Background(), "b1", &Incoming{Method: "POST", Body: body, BodySize: int64(len(body))})
		if err != nil {
			break
		}
		answered = append(answered, uuid.MustParse(resp.RequestID))
	}
	if !errors.Is(err, ErrOverloaded) || !errors.Is(err, caplog.ErrFull) || resp.Status != 503 || resp.RequestID != "" ||
		string(resp.Body) != `{"error":"capture log full: the store is behind; retry later"}` {
		t.Fatalf("at the cap: %v, %d %s", err, resp.Status, resp.Body)
	}
	if len(answered) == 0 {
		t.Fatal("nothing answered before the cap")
	}
	w.setDown(false)
	waitUntil(t, "the answered backlog stored", func() bool { return w.count() == len(answered) })
	waitUntil(t, "capture to answer again", func() bool {
		resp, err = p.Capture(context.Background(), "b1", &Incoming{Method: "POST", Body: body, BodySize: int64(len(body))})
		return err == nil && resp.Status == 200
	})
}
