package schematest

import (
	"slices"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// The forward outcome of a request: attempts, state, updates (retries and
// redeliveries) and the forward= filter (issue 18).
var forwardTests = []testCase{
	{"ForwardAttemptsRoundTrip", testForwardAttemptsRoundTrip},
	{"UpdateForwardsNewestWins", testUpdateForwardsNewestWins},
	{"FilterForwardState", testFilterForwardState},
}

func forwardEqual(a, b *schema.Forward) bool {
	if a.URL != b.URL || a.Mode != b.Mode || a.Status != b.Status || a.LatencyUS != b.LatencyUS ||
		a.Error != b.Error || a.State != b.State || a.Skipped != b.Skipped {
		return false
	}
	if (a.NextAt == nil) != (b.NextAt == nil) || a.NextAt != nil && !a.NextAt.Equal(*b.NextAt) {
		return false
	}
	return slices.EqualFunc(a.Attempts, b.Attempts, func(x, y schema.ForwardAttempt) bool {
		return x.At.Equal(y.At) && x.Status == y.Status && x.LatencyUS == y.LatencyUS && x.Error == y.Error
	})
}

func attempts(at time.Time, statuses ...int) []schema.ForwardAttempt {
	out := make([]schema.ForwardAttempt, len(statuses))
	for i, st := range statuses {
		out[i] = schema.ForwardAttempt{At: schema.Truncate(at.Add(time.Duration(i) * time.Second)), Status: st, LatencyUS: int64(1000 + i)}
		if st == 0 {
			out[i].Error = "dial tcp: connection refused"
		}
	}
	return out
}

func retrying(at time.Time, statuses ...int) *schema.Forward {
	next := schema.Truncate(at.Add(time.Minute))
	a := attempts(at, statuses...)
	last := a[len(a)-1]
	return &schema.Forward{URL: "http://target.example/x", Mode: "async", Status: last.Status, LatencyUS: last.LatencyUS,
		Error: last.Error, State: schema.ForwardRetrying, Attempts: a, NextAt: &next}
}

func getReq(t *testing.T, s schema.Store, r *schema.Request) *schema.Request {
	t.Helper()
	got, err := s.GetRequest(t.Context(), r.BinID, r.ID)
	if err != nil {
		t.Fatalf("GetRequest: %v", err)
	}
	return got
}

// testForwardAttemptsRoundTrip: every attempt, the state, the next attempt
// and a skip reason come back from GetRequest and ListRequests.
func testForwardAttemptsRoundTrip(t *testing.T, s schema.Store) {
	b := newBin(t, s)
	base := baseTime()
	r1 := req(t, b.ID, base)
	r1.Forward = retrying(base, 500, 0)
	r2 := req(t, b.ID, base.Add(time.Second))
	r2.Forward = &schema.Forward{URL: "http://target.example/x", Mode: "async", State: schema.ForwardSkipped,
		Skipped: "forward filter: method is GET; not forwarded"}
	write(t, s, r1, r2)
	for _, want := range []*schema.Request{r1, r2} {
		got := getReq(t, s, want)
		if got.Forward == nil || !forwardEqual(got.Forward, want.Forward) {
			t.Errorf("GetRequest forward = %+v, want %+v", got.Forward, want.Forward)
		}
	}
	p := list(t, s, schema.Filter{BinID: b.ID})
	if len(p.Requests) != 2 || !forwardEqual(p.Requests[1].Forward, r1.Forward) || !forwardEqual(p.Requests[0].Forward, r2.Forward) {
		t.Errorf("ListRequests forwards differ: %+v", p.Requests)
	}
}

// testUpdateForwardsNewestWins: an update with more attempts replaces the
// stored forward (in GetRequest and ListRequests); an older or repeated
// one, and one of a request that is not stored, change nothing.
func testUpdateForwardsNewestWins(t *testing.T, s schema.Store) {
	b := newBin(t, s)
	base := baseTime()
	r := req(t, b.ID, base)
	r.Forward = retrying(base, 500)
	other := req(t, b.ID, base.Add(time.Second))
	other.Forward = retrying(base, 503)
	write(t, s, r, other)

	two := retrying(base, 500, 500)
	three := &schema.Forward{URL: "http://target.example/x", Mode: "async", Status: 200, LatencyUS: 1002,
		State: schema.ForwardDelivered, Attempts: attempts(base, 500, 500, 200)}
	missing := req(t, b.ID, base.Add(2*time.Second))
	up := func(f *schema.Forward) []schema.ForwardUpdate {
		return []schema.ForwardUpdate{{BinID: b.ID, ID: r.ID, Forward: *f}}
	}
	for _, u := range [][]schema.ForwardUpdate{
		up(two), up(three), up(two), // out of order: the third attempt wins
		up(three), // repeated
		{{BinID: b.ID, ID: missing.ID, Forward: *three}}, // not stored: ignored
	} {
		if err := s.UpdateForwards(t.Context(), u); err != nil {
			t.Fatalf("UpdateForwards: %v", err)
		}
	}
	if got := getReq(t, s, r); !forwardEqual(got.Forward, three) {
		t.Errorf("GetRequest forward = %+v, want %+v", got.Forward, three)
	}
	if got := getReq(t, s, other); !forwardEqual(got.Forward, other.Forward) {
		t.Errorf("another request's forward changed: %+v", got.Forward)
	}
	if _, err := s.GetRequest(t.Context(), b.ID, missing.ID); err == nil {
		t.Errorf("an update stored a request that was never written")
	}
	p := list(t, s, schema.Filter{BinID: b.ID})
	for _, g := range p.Requests {
		if g.ID == r.ID && !forwardEqual(g.Forward, three) {
			t.Errorf("ListRequests forward = %+v, want %+v", g.Forward, three)
		}
	}
	if len(p.Requests) != 2 {
		t.Errorf("ListRequests returned %d requests, want 2", len(p.Requests))
	}
}

// testFilterForwardState: forward= selects by state, derives the state of
// records that carry none (written before states), never matches requests
// that were not forwarded, and follows updates; CountMatching agrees.
func testFilterForwardState(t *testing.T, s schema.Store) {
	b := newBin(t, s)
	base := baseTime()
	mk := func(i int, f *schema.Forward) *schema.Request {
		r := req(t, b.ID, base.Add(time.Duration(i)*time.Second))
		r.Forward = f
		return r
	}
	delivered := mk(0, &schema.Forward{URL: "u", Mode: "async", Status: 200, State: schema.ForwardDelivered, Attempts: attempts(base, 200)})
	failed := mk(1, &schema.Forward{URL: "u", Mode: "async", Status: 500, State: schema.ForwardFailed, Attempts: attempts(base, 500)})
	retry := mk(2, retrying(base, 500))
	becomesDelivered := mk(3, retrying(base, 502))
	skipped := mk(4, &schema.Forward{URL: "u", Mode: "async", State: schema.ForwardSkipped, Skipped: "filter"})
	legacyOK := mk(5, &schema.Forward{URL: "u", Mode: "proxy", Status: 204})
	legacyErr := mk(6, &schema.Forward{URL: "u", Mode: "async", Status: 0, Error: "timeout after 10s"})
	plain := mk(7, nil)
	write(t, s, delivered, failed, retry, becomesDelivered, skipped, legacyOK, legacyErr, plain)
	done := &schema.Forward{URL: "u", Mode: "async", Status: 200, State: schema.ForwardDelivered, Attempts: attempts(base, 502, 200)}
	if err := s.UpdateForwards(t.Context(), []schema.ForwardUpdate{{BinID: b.ID, ID: becomesDelivered.ID, Forward: *done}}); err != nil {
		t.Fatalf("UpdateForwards: %v", err)
	}
	for _, tc := range []struct {
		state schema.ForwardState
		want  []*schema.Request
	}{
		{schema.ForwardDelivered, []*schema.Request{legacyOK, becomesDelivered, delivered}},
		{schema.ForwardFailed, []*schema.Request{legacyErr, failed}},
		{schema.ForwardRetrying, []*schema.Request{retry}},
		{schema.ForwardSkipped, []*schema.Request{skipped}},
	} {
		f := schema.Filter{BinID: b.ID, Forward: tc.state}
		got := list(t, s, f).Requests
		if !slices.Equal(ids(got), ids(tc.want)) {
			t.Errorf("forward=%s: got %v, want %v", tc.state, ids(got), ids(tc.want))
		}
		n, err := s.CountMatching(t.Context(), f, 100)
		if err != nil || n != int64(len(tc.want)) {
			t.Errorf("CountMatching(forward=%s) = %d, %v; want %d", tc.state, n, err, len(tc.want))
		}
	}
	// Combined with another field.
	f := schema.Filter{BinID: b.ID, Forward: schema.ForwardDelivered, Until: base.Add(time.Second)}
	if got := list(t, s, f).Requests; !slices.Equal(ids(got), ids([]*schema.Request{delivered})) {
		t.Errorf("forward=delivered&until: got %v", ids(got))
	}
}
