package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/schema"
)

// steppingClock advances by step on every read, so a latency measured on
// it is a known number of reads.
type steppingClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

type oneBin struct{ id string }

func (o oneBin) GetBin(_ context.Context, id string) (*schema.Bin, error) {
	if id != o.id {
		return nil, schema.ErrNotFound
	}
	return &schema.Bin{ID: id}, nil
}

// TestCaptureWalk: the walk's order (lookup, admission, body) and its one
// clock. A delivery to an unknown bin never reaches Admit or ReadBody (its
// body is not buffered); a refused one is not read nor recorded; the
// recorded latency is measured on the pipeline's clock.
func TestCaptureWalk(t *testing.T) {
	w := newMemWriter()
	l := openTestLog(t, t.TempDir(), 0)
	c, err := StartConsumers(context.Background(), l, w, nil, nil, ConsumerOptions{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	clk := &steppingClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Millisecond}
	p := NewPipeline(oneBin{"b1"}, l, Options{Now: clk.Now})
	ctx := context.Background()

	var admitted, read int
	in := func() *Incoming {
		return &Incoming{Method: "POST",
			Admit: func(*schema.Bin) error { admitted++; return nil },
			ReadBody: func() ([]byte, int64, bool, error) {
				read++
				return []byte("hello"), 5, false, nil
			}}
	}
	if _, err := p.Capture(ctx, "nope", in()); !errors.Is(err, ErrUnknownBin) || admitted+read != 0 {
		t.Fatalf("unknown bin: err %v, admitted %d, read %d", err, admitted, read)
	}
	refused := errors.New("refused")
	r := in()
	r.Admit = func(*schema.Bin) error { return refused }
	if _, err := p.Capture(ctx, "b1", r); !errors.Is(err, refused) || read != 0 {
		t.Fatalf("refused: err %v, read %d", err, read)
	}
	resp, err := p.Capture(ctx, "b1", in())
	if err != nil || resp.Status != 200 || resp.RequestID == "" || admitted != 1 || read != 1 {
		t.Fatalf("capture: %+v %v admitted %d read %d", resp, err, admitted, read)
	}
	// The log is written in order: once the answered capture is stored,
	// a refused one recorded before it would be stored too.
	id := uuid.MustParse(resp.RequestID)
	waitUntil(t, "the capture stored", func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.rows[id] != nil })
	if w.count() != 1 {
		t.Fatalf("stored %d, want 1 (the refused capture is not recorded)", w.count())
	}
	for _, got := range w.rows {
		// Reads of the clock after the start: the bin cache, bin expiry,
		// the receive time, the end. Latency = end - start = 4 steps.
		if string(got.Body) != "hello" || got.LatencyUS != 4000 {
			t.Fatalf("record body %q latency %dus, want hello and 4000us", got.Body, got.LatencyUS)
		}
	}
}

// hungLog is a log whose disk never answers.
type hungLog struct{}

func (hungLog) Append(ctx context.Context, _ ...caplog.Entry) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestCaptureHungLog: a log that never makes the record durable gets a 503
// after AppendTimeout, never a 2xx and never a connection held forever.
func TestCaptureHungLog(t *testing.T) {
	p := NewPipeline(oneBin{"b1"}, hungLog{}, Options{AppendTimeout: 20 * time.Millisecond})
	resp, err := p.Capture(context.Background(), "b1", &Incoming{Method: "POST", Body: []byte("x")})
	if !errors.Is(err, ErrOverloaded) || !errors.Is(err, caplog.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) ||
		resp.Status != 503 || resp.RequestID != "" {
		t.Fatalf("hung log: %d %q %v", resp.Status, resp.Body, err)
	}
}
