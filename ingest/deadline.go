package ingest

import (
	"context"
	"sync/atomic"
	"time"
)

// sharedDeadline hands out contexts that end between d and d+slot from now,
// one per slot shared by every caller in it. A capture's wait for the log
// needs a bound (a hung disk must answer 503, not hold every connection),
// but context.WithTimeout per capture cost ~3 µs of CPU (a runtime timer
// added and removed for every request: 40 % of Pipeline.record in the
// server profile); a bound that is late by up to one slot costs nothing.
type sharedDeadline struct {
	d, slot time.Duration
	cur     atomic.Pointer[deadlineSlot]
}

type deadlineSlot struct {
	ctx context.Context
	// cancel is never called early (callers in flight hold ctx); the
	// deadline's own timer ends ctx and frees it, d+slot after it began.
	cancel context.CancelFunc
	until  time.Time // the slot's end: later callers need the next one
}

// ctx returns a context that ends in d to d+slot.
func (s *sharedDeadline) ctx() context.Context {
	now := time.Now()
	if c := s.cur.Load(); c != nil && now.Before(c.until) {
		return c.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(s.d+s.slot))
	// Two callers at a slot's end may both get here: one of the contexts
	// wins the slot, both are valid bounds.
	s.cur.Store(&deadlineSlot{ctx: ctx, cancel: cancel, until: now.Add(s.slot)})
	return ctx
}
