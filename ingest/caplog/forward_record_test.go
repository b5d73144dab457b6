package caplog

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// TestForwardDetailRoundTrip: attempts, state, next attempt and skip
// reason survive the codec; an update entry is marked, keeps the request's
// id in its payload and gets a fresh entry id.
func TestForwardDetailRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123000, time.UTC)
	next := at.Add(time.Minute)
	r := &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: "b", ReceivedAt: at, Method: "POST", Path: "/",
		Forward: &schema.Forward{URL: "http://t/", Mode: "async", Status: 500, LatencyUS: 7, Error: "e",
			State: schema.ForwardRetrying, NextAt: &next, Attempts: []schema.ForwardAttempt{
				{At: at, Status: 0, LatencyUS: 5, Error: "refused"}, {At: at.Add(time.Second), Status: 500, LatencyUS: 7}}}}
	for _, tc := range []struct {
		name   string
		entry  func() (Entry, error)
		update bool
	}{
		{"capture", func() (Entry, error) { return RequestEntry(nil, r) }, false},
		{"update", func() (Entry, error) { return UpdateEntry(nil, r) }, true},
	} {
		e, err := tc.entry()
		if err != nil {
			t.Fatal(err)
		}
		if IsUpdate(e.Data) != tc.update || (e.ID == r.ID) == tc.update {
			t.Errorf("%s: IsUpdate %v, entry id %v (request %v)", tc.name, IsUpdate(e.Data), e.ID, r.ID)
		}
		got, err := DecodeRequest(e.Data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.ID != r.ID || !reflect.DeepEqual(got.Forward, r.Forward) {
			t.Errorf("%s: forward %+v, want %+v", tc.name, got.Forward, r.Forward)
		}
	}
	// A record without detail keeps its old bytes (flag 32 unset).
	plain := *r
	plain.Forward = &schema.Forward{URL: "http://t/", Mode: "proxy", Status: 200}
	b, _ := EncodeRequest(nil, &plain)
	if b[17]&flagForwardDetail != 0 {
		t.Errorf("forward detail flag set without detail")
	}
	// An attempt count beyond the bytes is refused before allocating.
	bad, _ := EncodeRequest(nil, r)
	bad = bad[:len(bad)-1]
	if _, err := DecodeRequest(bad); err == nil {
		t.Errorf("a truncated attempt decoded")
	}
}
