package live

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

func encode(r *schema.Request) []byte { return []byte(r.ID.String()) }

func req(bin string, body []byte) *schema.Request {
	id, _ := uuid.NewV7()
	return &schema.Request{ID: id, BinID: bin, Method: "POST", Body: body}
}

// TestHubManySubscribersAndAStuckOne: 50 readers each get every event in
// order; a subscriber that never reads is cut off as lagged without
// delaying the others or the publisher.
func TestHubManySubscribersAndAStuckOne(t *testing.T) {
	h := New(Options{Encode: encode, BufferLen: 1024})
	defer h.Close()
	const readers, events = 50, 2000

	stuck, _ := h.Subscribe("b", nil)
	var wg sync.WaitGroup
	got := make([][]uuid.UUID, readers)
	counts := make([]atomic.Int64, readers)
	for i := range readers {
		s, _ := h.Subscribe("b", nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range s.C {
				got[i] = append(got[i], ev.Req.ID)
				counts[i].Add(1)
				if len(got[i]) == events {
					h.Unsubscribe(s)
				}
			}
		}()
	}
	other, _ := h.Subscribe("other-bin", nil)

	var want []uuid.UUID
	start := time.Now()
	for range events {
		r := req("b", nil)
		want = append(want, r.ID)
		h.Publish(r)
		// Every 500 events, let the live readers catch up (they are slower
		// than a tight loop under -race), so only the stuck one can lag.
		if len(want)%500 == 0 {
			for i := range readers {
				for counts[i].Load() < int64(len(want)) {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}
	publishTime := time.Since(start)
	wg.Wait()

	for i := range readers {
		if len(got[i]) != events {
			t.Fatalf("reader %d got %d events, want %d", i, len(got[i]), events)
		}
		for j := range want {
			if got[i][j] != want[j] {
				t.Fatalf("reader %d: event %d out of order", i, j)
			}
		}
	}
	// The stuck subscriber was cut off and its channel closed.
	n := 0
	for range stuck.C {
		n++
	}
	if !stuck.Lagged() || n != 1024 {
		t.Fatalf("stuck subscriber: lagged=%v, drained %d (want its full buffer, 1024)", stuck.Lagged(), n)
	}
	select {
	case ev := <-other.C:
		t.Fatalf("subscriber of another bin got %v", ev.Req.ID)
	default:
	}
	t.Logf("published %d events to %d subscribers in %v", events, readers+1, publishTime)
}

// TestHubPublishNeverBlocks: with the hub's inbox full, Publish drops and
// counts instead of waiting.
func TestHubPublishNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	h := New(Options{Encode: func(r *schema.Request) []byte { <-block; return nil }, InboxLen: 4})
	done := make(chan struct{})
	go func() {
		for range 100 {
			h.Publish(req("b", nil))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a stuck hub")
	}
	close(block)
	h.Close()
}

// TestHubRecentEventsForResume: Subscribe returns the bin's recent events
// that match, oldest first, with bodies trimmed to the preview.
func TestHubRecentEventsForResume(t *testing.T) {
	h := New(Options{Encode: encode, RingLen: 8})
	big := bytes.Repeat([]byte("x"), 10<<20)
	var ids []uuid.UUID
	for i := range 12 {
		bin := "b"
		if i%3 == 0 {
			bin = "c"
		}
		r := req(bin, big)
		if bin == "b" {
			ids = append(ids, r.ID)
		}
		h.Publish(r)
	}
	h.Close() // drains the inbox
	h2 := h   // the ring survives Close for inspection
	_, recent := h2.Subscribe("b", func(r *schema.Request) bool { return r.Method == "POST" })
	if len(recent) == 0 {
		t.Fatal("no recent events")
	}
	// The ring holds the last 8 events of all bins; those of bin b are the
	// tail of ids, in order.
	tail := ids[len(ids)-len(recent):]
	for i, ev := range recent {
		if ev.Req.ID != tail[i] {
			t.Fatalf("recent[%d] = %v, want %v", i, ev.Req.ID, tail[i])
		}
		if len(ev.Req.Body) > schema.PreviewBytes {
			t.Fatalf("ring pins a %d-byte body", len(ev.Req.Body))
		}
	}
}

// TestHubAlertsReachOnlyTheirBin: an alert event goes to every subscriber
// of its bin whatever its request filter, never to another bin's; a full
// alert buffer drops (never blocks); an event without a bin reaches nobody.
func TestHubAlertsReachOnlyTheirBin(t *testing.T) {
	h := New(Options{Encode: encode, AlertBufferLen: 2,
		EncodeAlert: func(ev *schema.AlertEvent) []byte { return []byte(ev.BinID + "/" + ev.State) }})
	defer h.Close()
	none := func(*schema.Request) bool { return false }
	filtered, _ := h.Subscribe("b", none)
	all, _ := h.Subscribe("b", nil)
	other, _ := h.Subscribe("c", nil)
	h.PublishAlert(&schema.AlertEvent{BinID: "b", State: "firing"})
	h.PublishAlert(&schema.AlertEvent{BinID: "", State: "test"})
	for name, s := range map[string]*Sub{"filtered": filtered, "all": all} {
		select {
		case m := <-s.Alerts:
			if string(m) != "b/firing" {
				t.Errorf("%s: %q", name, m)
			}
		default:
			t.Errorf("%s: no alert", name)
		}
	}
	select {
	case m := <-other.Alerts:
		t.Fatalf("another bin's subscriber got %q", m)
	default:
	}
	for range 5 { // nobody reads: two are kept, three dropped, none blocks
		h.PublishAlert(&schema.AlertEvent{BinID: "b", State: "resolved"})
	}
	if n := len(all.Alerts); n != 2 {
		t.Errorf("%d alerts buffered, want 2", n)
	}
	if len(filtered.C) != 0 || len(all.C) != 0 {
		t.Error("alert events went to the request channel")
	}
}

// TestHubSinceMark: what the hub fanned out between Mark (taken when a
// feed's handshake answers) and Subscribe (when its handler runs) is in the
// recent events Since picks, oldest first, and nothing older; when more
// than the ring went by in between, Since says it is incomplete.
func TestHubSinceMark(t *testing.T) {
	h := New(Options{Encode: encode, RingLen: 8})
	defer h.Close()
	waitSeq := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for h.Mark() < n {
			if time.Now().After(deadline) {
				t.Fatalf("hub fanned out %d events, want %d", h.Mark(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	before := req("b", nil)
	h.Publish(before)
	waitSeq(1)

	mark := h.Mark()
	between := []*schema.Request{req("b", nil), req("other", nil), req("b", nil)}
	for _, r := range between {
		h.Publish(r)
	}
	waitSeq(4)
	s, recent := h.Subscribe("b", nil)
	defer h.Unsubscribe(s)
	evs, complete := s.Since(recent, mark)
	if !complete {
		t.Fatal("Since says incomplete with the ring holding everything since the mark")
	}
	if len(evs) != 2 || evs[0].Req.ID != between[0].ID || evs[1].Req.ID != between[2].ID {
		t.Fatalf("Since gave %d events, want the 2 of bin b published after the mark", len(evs))
	}
	for _, ev := range evs {
		if ev.Msg == nil {
			t.Fatal("an event from Since has no message")
		}
	}
	after := req("b", nil)
	h.Publish(after)
	if ev := <-s.C; ev.Req.ID != after.ID {
		t.Fatalf("subscriber got %s, want the event published after Subscribe", ev.Req.ID)
	}

	// More than RingLen events between mark and Subscribe: incomplete.
	mark = h.Mark()
	for range 9 {
		h.Publish(req("b", nil))
	}
	waitSeq(mark + 9)
	s2, recent := h.Subscribe("b", nil)
	defer h.Unsubscribe(s2)
	if _, complete := s2.Since(recent, mark); complete {
		t.Fatal("Since says complete after the ring was overwritten")
	}
}
