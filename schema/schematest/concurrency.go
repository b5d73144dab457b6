package schematest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// concurrencyTests are the cases of Writer and Reader at once.
var concurrencyTests = []testCase{
	{"ConcurrentWriteAndPage", testConcurrentWriteAndPage},
}

// ---- concurrency -----------------------------------------------------------

// testConcurrentWriteAndPage writes batches from several goroutines (with
// retried batches) while readers page through the bin with Before cursors.
// Every traversal must be strictly descending, free of duplicates and contain
// every request that existed before it started; at the end the bin holds
// exactly what was written.
func testConcurrentWriteAndPage(t *testing.T, s schema.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // no writer may outlive the test
	bin := newBin(t, s)
	base := baseTime()
	const (
		pre       = 300
		writers   = 4
		batches   = 12
		batchSize = 50
	)
	var initial []*schema.Request
	for i := range pre {
		initial = append(initial, req(t, bin.ID, base.Add(time.Duration(i)*time.Millisecond)))
	}
	write(t, s, initial...)
	preIDs := map[uuid.UUID]bool{}
	for _, r := range initial {
		preIDs[r.ID] = true
	}

	var (
		mu      sync.Mutex
		written = map[uuid.UUID]bool{}
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev []*schema.Request
			for b := range batches {
				batch := make([]*schema.Request, batchSize)
				for i := range batch {
					id, err := uuid.NewV7()
					if err != nil {
						t.Error(err)
						return
					}
					r := &schema.Request{ID: id, BinID: bin.ID, Method: "POST", Path: fmt.Sprintf("/w%d/%d/%d", w, b, i),
						ReceivedAt: base.Add(time.Hour + time.Duration(b*batchSize+i)*time.Millisecond), // writers collide on timestamps
						RemoteIP:   "10.9.9.9", ResponseStatus: 200, Signature: schema.Signature{Status: schema.SigUnchecked}}
					batch[i] = r
				}
				if err := s.WriteRequests(ctx, batch); err != nil {
					if ctx.Err() == nil {
						t.Errorf("writer %d: %v", w, err)
					}
					return
				}
				if prev != nil { // a retry of the previous batch must not duplicate
					if err := s.WriteRequests(ctx, prev); err != nil {
						if ctx.Err() == nil {
							t.Errorf("writer %d retry: %v", w, err)
						}
						return
					}
				}
				mu.Lock()
				for _, r := range batch {
					written[r.ID] = true
				}
				mu.Unlock()
				prev = batch
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	traverse := func(limit int) (map[uuid.UUID]bool, error) {
		seen := map[uuid.UUID]bool{}
		f := schema.Filter{BinID: bin.ID, Limit: limit}
		var last *schema.Request
		for {
			p, err := s.ListRequests(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, r := range p.Requests {
				if seen[r.ID] {
					return nil, fmt.Errorf("duplicate %s", r.ID)
				}
				if last != nil && !schema.CursorOf(last).Less(r.ReceivedAt, r.ID) {
					return nil, fmt.Errorf("order broken: %s (%v) after %s (%v)", r.ID, r.ReceivedAt, last.ID, last.ReceivedAt)
				}
				seen[r.ID] = true
				last = r
			}
			if p.Next == nil {
				return seen, nil
			}
			f.Before = p.Next
		}
	}
	traversals := 0
	for running := true; running; traversals++ {
		select {
		case <-done:
			running = false
		default:
		}
		mu.Lock()
		before := len(written)
		mu.Unlock()
		seen, err := traverse(37)
		if err != nil {
			t.Fatalf("traversal %d: %v", traversals, err)
		}
		for id := range preIDs {
			if !seen[id] {
				t.Fatalf("traversal %d lost pre-existing request %s", traversals, id)
			}
		}
		if len(seen) < pre+before {
			t.Fatalf("traversal %d saw %d requests, at least %d were committed before it began", traversals, len(seen), pre+before)
		}
	}
	if t.Failed() {
		return
	}
	seen, err := traverse(100)
	if err != nil {
		t.Fatal(err)
	}
	if want := pre + writers*batches*batchSize; len(seen) != want || len(written) != writers*batches*batchSize {
		t.Errorf("final traversal saw %d, wrote %d+%d", len(seen), pre, len(written))
	}
	for id := range written {
		if !seen[id] {
			t.Errorf("lost %s", id)
		}
	}
	if n, err := s.CountRequests(ctx, bin.ID); err != nil || n != int64(len(seen)) {
		t.Errorf("CountRequests = %d, %v; want %d", n, err, len(seen))
	}
	t.Logf("%d traversals during the writes", traversals)
}
