package schematest

import (
	"errors"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// deleterTests are the cases of schema.Deleter, with the event fields
// (issue 17) it filters on.
var deleterTests = []testCase{
	{"EventFieldsRoundTripAndFilter", testEventFields},
	{"DeleteRequest", testDeleteRequest},
	{"DeleteMatching", testDeleteMatching},
}

// eventSet writes six requests of bin: types a/b alternating, delivery ids
// d0..d2 twice each (the second of each pair a duplicate of the first).
func eventSet(t *testing.T, s schema.Store, binID string) []*schema.Request {
	t.Helper()
	var reqs []*schema.Request
	for i := range 6 {
		r := req(t, binID, baseTime().Add(time.Duration(i)*time.Second))
		r.EventType = []string{"a.created", "b.deleted"}[i%2]
		r.DeliveryID = []string{"d0", "d1", "d2"}[i%3]
		r.Attempt = 1 + i/3
		if i >= 3 {
			first := reqs[i-3].ID
			r.DuplicateOf = &first
		}
		reqs = append(reqs, r)
	}
	write(t, s, reqs...)
	return reqs
}

func testEventFields(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	reqs := eventSet(t, s, bin.ID)
	for _, w := range reqs {
		got, err := s.GetRequest(t.Context(), bin.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.EventType != w.EventType || got.DeliveryID != w.DeliveryID || got.Attempt != w.Attempt ||
			(got.DuplicateOf == nil) != (w.DuplicateOf == nil) || got.DuplicateOf != nil && *got.DuplicateOf != *w.DuplicateOf {
			t.Errorf("round trip: got %q %q %d %v, want %q %q %d %v", got.EventType, got.DeliveryID, got.Attempt, got.DuplicateOf,
				w.EventType, w.DeliveryID, w.Attempt, w.DuplicateOf)
		}
	}
	if p := list(t, s, schema.Filter{BinID: bin.ID, EventType: "b.deleted"}); len(p.Requests) != 3 {
		t.Errorf("event_type filter: %d, want 3", len(p.Requests))
	}
	p := list(t, s, schema.Filter{BinID: bin.ID, DeliveryID: "d1"})
	if len(p.Requests) != 2 || p.Requests[0].ID != reqs[4].ID || p.Requests[1].ID != reqs[1].ID {
		t.Errorf("delivery_id filter: %v, want [%s %s]", ids(p.Requests), reqs[4].ID, reqs[1].ID)
	}
	if p := list(t, s, schema.Filter{BinID: bin.ID, DeliveryID: "d1", EventType: "a.created"}); len(p.Requests) != 1 {
		t.Errorf("both filters: %d, want 1", len(p.Requests))
	}
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID})
	if st.ByEventType["a.created"] != 3 || st.ByEventType["b.deleted"] != 3 || len(st.ByEventType) != 2 {
		t.Errorf("by_event_type %v", st.ByEventType)
	}
}

func testDeleteRequest(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	reqs := eventSet(t, s, bin.ID)
	o := req(t, other.ID, baseTime())
	write(t, s, o)
	if err := s.DeleteRequest(ctx, bin.ID, reqs[2].ID); err != nil {
		t.Fatalf("DeleteRequest: %v", err)
	}
	if _, err := s.GetRequest(ctx, bin.ID, reqs[2].ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRequest after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteRequest(ctx, bin.ID, reqs[2].ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("second DeleteRequest: %v, want ErrNotFound", err)
	}
	if err := s.DeleteRequest(ctx, bin.ID, o.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("DeleteRequest of another bin's request: %v, want ErrNotFound", err)
	}
	if p := list(t, s, schema.Filter{BinID: bin.ID}); len(p.Requests) != 5 {
		t.Errorf("after delete: %d requests, want 5", len(p.Requests))
	}
	if _, err := s.GetRequest(ctx, other.ID, o.ID); err != nil {
		t.Errorf("other bin's request: %v", err)
	}
}

func testDeleteMatching(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	eventSet(t, s, bin.ID)
	eventSet(t, s, other.ID)
	if _, err := s.DeleteMatching(ctx, schema.Filter{BinID: bin.ID}); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("DeleteMatching without a filter: %v, want ErrInvalid", err)
	}
	n, err := s.DeleteMatching(ctx, schema.Filter{BinID: bin.ID, EventType: "a.created"})
	if err != nil || n != 3 {
		t.Fatalf("DeleteMatching(a.created) = %d, %v; want 3", n, err)
	}
	p := list(t, s, schema.Filter{BinID: bin.ID})
	if len(p.Requests) != 3 {
		t.Fatalf("after delete: %d, want 3", len(p.Requests))
	}
	for _, r := range p.Requests {
		if r.EventType != "b.deleted" {
			t.Errorf("left %q", r.EventType)
		}
	}
	if n, err := s.DeleteMatching(ctx, schema.Filter{BinID: bin.ID, DeliveryID: "d0"}); err != nil || n != 1 {
		t.Errorf("DeleteMatching(d0) = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteMatching(ctx, schema.Filter{BinID: bin.ID, Method: "PUT"}); err != nil || n != 0 {
		t.Errorf("DeleteMatching(PUT) = %d, %v; want 0", n, err)
	}
	if p := list(t, s, schema.Filter{BinID: other.ID}); len(p.Requests) != 6 {
		t.Errorf("other bin: %d requests, want 6", len(p.Requests))
	}
}
