package live

import (
	"bytes"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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

// testRecord is the tests' record codec: a request and its body as JSON
// (the request's own JSON leaves the body out).
type testRecord struct {
	Req  *schema.Request
	Body []byte
}

func jsonDecode(decoded *atomic.Int64) func([]byte) (*schema.Request, error) {
	return func(b []byte) (*schema.Request, error) {
		decoded.Add(1)
		var rec testRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, err
		}
		rec.Req.Body = rec.Body
		return rec.Req, nil
	}
}

func record(t *testing.T, r *schema.Request) []byte {
	t.Helper()
	b, err := json.Marshal(testRecord{Req: r, Body: r.Body})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHubDecodesRecordsOnlyForWatchers: PublishRecord leaves the records of
// a bin nobody watches undecoded in the ring; a subscriber that joins gets
// them decoded and encoded in its recent events; once watched, records are
// decoded as they come; a record larger than rawMax is decoded (and its
// body trimmed) at once, so the ring never holds a large record; a record
// that does not decode is counted and skipped without stopping the feed.
func TestHubDecodesRecordsOnlyForWatchers(t *testing.T) {
	var decoded atomic.Int64
	h := New(Options{Encode: encode, Decode: jsonDecode(&decoded)})
	defer h.Close()

	var early []*schema.Request
	for range 5 {
		r := req("b", []byte("x"))
		early = append(early, r)
		h.PublishRecord("b", record(t, r))
	}
	big := req("other", bytes.Repeat([]byte("y"), rawMax+1))
	h.PublishRecord("other", record(t, big))
	waitPublished(t, h, 6)
	if n := decoded.Load(); n != 1 {
		t.Fatalf("decoded %d records with nobody watching, want 1 (the one over rawMax)", n)
	}
	h.mu.Lock()
	for _, ev := range h.ring {
		if ev != nil && ev.bin == "other" && (ev.Req == nil || len(ev.Req.Body) != schema.PreviewBytes || ev.raw != nil) {
			t.Errorf("large record kept as %d raw bytes, body %d", len(ev.raw), len(ev.Req.Body))
		}
	}
	h.mu.Unlock()

	s, recent := h.Subscribe("b", nil)
	defer h.Unsubscribe(s)
	if len(recent) != len(early) {
		t.Fatalf("recent events: got %d, want %d", len(recent), len(early))
	}
	for i, ev := range recent {
		if ev.Req.ID != early[i].ID || string(ev.Req.Body) != "x" || !bytes.Equal(ev.Msg, encode(early[i])) {
			t.Fatalf("recent[%d]: id %s body %q msg %q, want id %s", i, ev.Req.ID, ev.Req.Body, ev.Msg, early[i].ID)
		}
	}
	if n := decoded.Load(); n != 6 {
		t.Fatalf("decoded %d records after the subscribe, want 6", n)
	}

	h.PublishRecord("b", []byte("not a record"))
	late := req("b", []byte("z"))
	h.PublishRecord("b", record(t, late))
	select {
	case ev := <-s.C:
		if ev.Req.ID != late.ID || !bytes.Equal(ev.Msg, encode(late)) {
			t.Fatalf("live event: id %s msg %q, want id %s", ev.Req.ID, ev.Msg, late.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live event after an undecodable record")
	}
	if got := counterValue(t, h.undecodable); got != 1 {
		t.Fatalf("undecodable = %v, want 1", got)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
