package ingest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSharedDeadline: callers within one slot share a context whose
// deadline is d to d+slot after each of them asked; the next slot gets a
// new one; a context ends with DeadlineExceeded at its deadline.
func TestSharedDeadline(t *testing.T) {
	const d, slot = 30 * time.Millisecond, 20 * time.Millisecond
	s := sharedDeadline{d: d, slot: slot}
	before := time.Now()
	a := s.ctx()
	b := s.ctx()
	after := time.Now()
	if a != b && after.Sub(before) < slot {
		t.Fatal("two calls within one slot got different contexts")
	}
	dl, ok := a.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	if dl.Before(after.Add(d)) || dl.After(after.Add(d+slot)) {
		t.Fatalf("deadline %v after the call, want %v to %v", dl.Sub(after), d, d+slot)
	}
	time.Sleep(slot + time.Millisecond)
	if c := s.ctx(); c == a {
		t.Fatal("a call after the slot ended got the old context")
	}
	select {
	case <-a.Done():
		if !errors.Is(a.Err(), context.DeadlineExceeded) {
			t.Fatalf("err = %v", a.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the shared context never ended")
	}
}
