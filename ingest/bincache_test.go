package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// slowBins counts lookups and holds each one until release is closed.
type slowBins struct {
	calls   atomic.Int64
	release chan struct{}
}

func (s *slowBins) GetBin(_ context.Context, id string) (*schema.Bin, error) {
	s.calls.Add(1)
	<-s.release
	return &schema.Bin{ID: id}, nil
}

// TestBinCacheSharesLookup: concurrent misses of one bin (every connection
// when the entry expires) make a single store lookup, and its answer is
// cached.
func TestBinCacheSharesLookup(t *testing.T) {
	synctest.Test(t, testBinCacheSharesLookup)
}

func testBinCacheSharesLookup(t *testing.T) {
	src := &slowBins{release: make(chan struct{})}
	c := newBinCache(src, time.Minute, time.Now)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if tg, err := c.get(context.Background(), "b1"); err != nil || tg == nil {
				t.Errorf("get: %v, %v", tg, err)
			}
		})
	}
	synctest.Wait() // one lookup holds, the others wait for it
	close(src.release)
	wg.Wait()
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d store lookups for 16 concurrent misses; want 1", n)
	}
	if _, err := c.get(context.Background(), "b1"); err != nil || src.calls.Load() != 1 {
		t.Fatalf("cached get: err %v, %d lookups; want the cached answer", err, src.calls.Load())
	}
}

// TestBinCacheInvalidateDuringLookup: a lookup that started before
// invalidate is not cached, so the next get asks the store again.
func TestBinCacheInvalidateDuringLookup(t *testing.T) {
	synctest.Test(t, testBinCacheInvalidateDuringLookup)
}

func testBinCacheInvalidateDuringLookup(t *testing.T) {
	src := &slowBins{release: make(chan struct{})}
	c := newBinCache(src, time.Minute, time.Now)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.get(context.Background(), "b1")
	}()
	synctest.Wait() // the lookup is in the store
	c.invalidate("b1")
	close(src.release)
	<-done
	if _, err := c.get(context.Background(), "b1"); err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("%d lookups; want 2 (the answer from before invalidate must not be cached)", n)
	}
}
