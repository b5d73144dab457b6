package live

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// TestHubEncodesOnlyWatchedBins: requests of a bin nobody watches are not
// encoded when published; a subscriber that joins later still gets them,
// encoded, in its recent events, and every live event carries its message.
func TestHubEncodesOnlyWatchedBins(t *testing.T) {
	var encoded atomic.Int64
	enc := func(r *schema.Request) []byte { encoded.Add(1); return encode(r) }
	h := New(Options{Encode: enc})
	defer h.Close()

	var early []*schema.Request
	for range 5 {
		r := req("b", []byte("x"))
		early = append(early, r)
		h.Publish(r)
	}
	waitPublished(t, h, 5)
	if n := encoded.Load(); n != 0 {
		t.Fatalf("encoded %d messages for a bin without subscribers, want 0", n)
	}

	s, recent := h.Subscribe("b", nil)
	defer h.Unsubscribe(s)
	if len(recent) != len(early) {
		t.Fatalf("recent events: got %d, want %d", len(recent), len(early))
	}
	for i, ev := range recent {
		if ev.Req.ID != early[i].ID || !bytes.Equal(ev.Msg, encode(early[i])) {
			t.Fatalf("recent[%d]: id %s msg %q, want id %s with its message", i, ev.Req.ID, ev.Msg, early[i].ID)
		}
	}

	late := req("b", []byte("y"))
	h.Publish(late)
	h.Publish(req("unwatched", []byte("z")))
	select {
	case ev := <-s.C:
		if ev.Req.ID != late.ID || !bytes.Equal(ev.Msg, encode(late)) {
			t.Fatalf("live event: id %s msg %q, want id %s with its message", ev.Req.ID, ev.Msg, late.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live event")
	}
	waitPublished(t, h, 7)
	if n := encoded.Load(); n != 6 {
		t.Fatalf("encoded %d messages, want 6 (5 on subscribe, 1 live; none for the unwatched bin)", n)
	}
}

func waitPublished(t *testing.T, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		c := 0
		for _, ev := range h.ring {
			if ev != nil {
				c++
			}
		}
		h.mu.Unlock()
		if c >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("hub did not publish %d events", n)
}
