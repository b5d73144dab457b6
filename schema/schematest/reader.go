package schematest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// readerTests are the cases of schema.Reader (paging, filters, lookups).
var readerTests = []testCase{
	{"Filters", testFilters},
	{"PagingBefore", testPagingBefore},
	{"PagingIdenticalTimestamps", testPagingIdenticalTimestamps},
	{"PagingWithFilter", testPagingWithFilter},
	{"PagingAfter", testPagingAfter},
	{"Limit", testLimit},
	{"BodyPreview", testBodyPreview},
	{"GetRequestNotFound", testGetRequestNotFound},
	{"GetRequests", testGetRequests},
	{"CountRequests", testCountRequests},
	{"CountMatching", testCountMatching},
	{"FilterReplays", testFilterReplays},
}

func testCountMatching(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	eventSet(t, s, bin.ID)
	eventSet(t, s, other.ID)
	for _, tc := range []struct {
		f    schema.Filter
		max  int64
		want int64
	}{
		{schema.Filter{BinID: bin.ID}, 100, 6},
		{schema.Filter{BinID: bin.ID, EventType: "a.created"}, 100, 3},
		{schema.Filter{BinID: bin.ID, EventType: "a.created"}, 2, 2},       // stops at max
		{schema.Filter{BinID: bin.ID, DeliveryID: "d1", Limit: 1}, 100, 2}, // Limit is ignored
		{schema.Filter{BinID: bin.ID, Method: "PUT"}, 100, 0},
	} {
		if n, err := s.CountMatching(ctx, tc.f, tc.max); err != nil || n != tc.want {
			t.Errorf("CountMatching(%+v, %d) = %d, %v; want %d", tc.f, tc.max, n, err, tc.want)
		}
	}
	if _, err := s.CountMatching(ctx, schema.Filter{BinID: bin.ID}, 0); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("CountMatching with max 0: %v, want ErrInvalid", err)
	}
}

func testFilters(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	other := newBin(t, s)
	base := baseTime()
	mk := func(i int, method string, status int, ip string, sig schema.SignatureStatus) *schema.Request {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		r.Method, r.ResponseStatus, r.RemoteIP, r.Signature.Status = method, status, ip, sig
		r.Path = fmt.Sprintf("/r%d", i)
		return r
	}
	r1 := mk(1, "GET", 200, "10.0.0.1", schema.SigValid)
	r1.Path = "/alpha"
	r1.Query = "a=1"
	r1.Headers = append(r1.Headers, schema.Header{Name: "X-Token", Value: "Secret-Value"})
	r1.Body = []byte(`{"Hello":"World"}`)
	r2 := mk(2, "POST", 201, "10.0.0.2", schema.SigInvalid)
	r2.Query = "needle=QueryHit&x=1"
	r2.Body = []byte("plain text")
	r3 := mk(3, "POST", 404, "10.0.0.1", schema.SigMissing)
	r3.Path = "/Gamma/PathHit"
	r4 := mk(4, "PUT", 500, "10.0.0.3", schema.SigUnchecked)
	r4.Headers = append(r4.Headers, schema.Header{Name: "X-NameHit", Value: "v"})
	r4.Body = []byte{0x00, 0xff, 0x00, 'x', 'B', 'o', 'D', 'y', 'H', 'i', 'T', 0x00}
	r5 := mk(5, "DELETE", 503, "2001:db8::1", schema.SigValid)
	r5.Headers = append(r5.Headers, schema.Header{Name: "X-Other", Value: "the ValueHit here"})
	r6 := mk(6, "PATCH", 302, "10.0.0.2", schema.SigUnchecked)
	all := []*schema.Request{r1, r2, r3, r4, r5, r6}
	for _, r := range all {
		r.BodySize = int64(len(r.Body))
	}
	write(t, s, all...)
	// A twin in another bin that matches every filter must never show up.
	twin := *r4
	twin.ID, twin.BinID = newV7(t), other.ID
	write(t, s, &twin)

	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	cases := []struct {
		name string
		f    schema.Filter
		want []*schema.Request // newest first
	}{
		{"none", schema.Filter{}, []*schema.Request{r6, r5, r4, r3, r2, r1}},
		{"method", schema.Filter{Method: "POST"}, []*schema.Request{r3, r2}},
		{"method no match", schema.Filter{Method: "OPTIONS"}, nil},
		{"status exact", schema.Filter{StatusMin: 404, StatusMax: 404}, []*schema.Request{r3}},
		{"status 2xx", schema.Filter{StatusMin: 200, StatusMax: 299}, []*schema.Request{r2, r1}},
		{"status 5xx", schema.Filter{StatusMin: 500, StatusMax: 599}, []*schema.Request{r5, r4}},
		{"status 3xx", schema.Filter{StatusMin: 300, StatusMax: 399}, []*schema.Request{r6}},
		{"status min only", schema.Filter{StatusMin: 400}, []*schema.Request{r5, r4, r3}},
		{"status max only", schema.Filter{StatusMax: 299}, []*schema.Request{r2, r1}},
		{"ip", schema.Filter{IP: "10.0.0.1"}, []*schema.Request{r3, r1}},
		{"ip v6", schema.Filter{IP: "2001:db8::1"}, []*schema.Request{r5}},
		{"ip exact not prefix", schema.Filter{IP: "10.0.0"}, nil},
		{"q path", schema.Filter{Q: "gamma/pathhit"}, []*schema.Request{r3}},
		{"q query", schema.Filter{Q: "NEEDLE=queryhit"}, []*schema.Request{r2}},
		{"q header name", schema.Filter{Q: "x-namehit"}, []*schema.Request{r4}},
		{"q header value", schema.Filter{Q: "VALUEHIT"}, []*schema.Request{r5}},
		{"q header value 2", schema.Filter{Q: "secret-value"}, []*schema.Request{r1}},
		{"q not across name and value", schema.Filter{Q: "tokensecret"}, nil},
		{"q body", schema.Filter{Q: "hello\":\"world"}, []*schema.Request{r1}},
		{"q binary body after NUL", schema.Filter{Q: "bodyhit"}, []*schema.Request{r4}},
		{"q everywhere", schema.Filter{Q: "application/json"}, []*schema.Request{r6, r5, r4, r3, r2, r1}},
		{"q no match", schema.Filter{Q: "nothing-like-this"}, nil},
		{"since inclusive", schema.Filter{Since: at(3)}, []*schema.Request{r6, r5, r4, r3}},
		{"until exclusive", schema.Filter{Until: at(3)}, []*schema.Request{r2, r1}},
		{"since until", schema.Filter{Since: at(2), Until: at(5)}, []*schema.Request{r4, r3, r2}},
		{"since until empty", schema.Filter{Since: at(3), Until: at(3)}, nil},
		{"signature valid", schema.Filter{Signature: schema.SigValid}, []*schema.Request{r5, r1}},
		{"signature invalid", schema.Filter{Signature: schema.SigInvalid}, []*schema.Request{r2}},
		{"signature missing", schema.Filter{Signature: schema.SigMissing}, []*schema.Request{r3}},
		{"signature unchecked", schema.Filter{Signature: schema.SigUnchecked}, []*schema.Request{r6, r4}},
		{"combined", schema.Filter{Method: "POST", StatusMin: 200, StatusMax: 299, IP: "10.0.0.2", Q: "queryhit", Signature: schema.SigInvalid}, []*schema.Request{r2}},
		{"combined no match", schema.Filter{Method: "POST", StatusMin: 500, StatusMax: 599}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.BinID = bin.ID
			p := list(t, s, f)
			equalIDs(t, "filter", ids(p.Requests), ids(tc.want))
			if p.Next != nil {
				t.Errorf("Next = %v, want nil", p.Next)
			}
		})
	}
}

// pagingSet writes n requests whose timestamps repeat in groups of group
// (group = 1: all distinct) and returns them newest first.
func pagingSet(t *testing.T, s schema.Store, binID string, n, group int) []*schema.Request {
	t.Helper()
	base := baseTime()
	reqs := make([]*schema.Request, n)
	for i := range reqs {
		reqs[i] = req(t, binID, base.Add(time.Duration(i/group)*time.Millisecond))
	}
	// Write out of order, in two batches, to make sure order comes from the data.
	shuffled := slices.Clone(reqs)
	for i := range shuffled {
		j := (i*7919 + 13) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	write(t, s, shuffled[:n/2]...)
	write(t, s, shuffled[n/2:]...)
	return newestFirst(reqs)
}

func testPagingBefore(t *testing.T, s schema.Store) {
	for _, tc := range []struct{ n, group, limit int }{
		{57, 5, 7},  // groups of identical timestamps straddle page borders
		{21, 1, 7},  // exact multiple of the limit: the last full page has Next nil
		{1, 1, 50},  // a single request
		{0, 1, 10},  // empty bin
		{30, 3, 1},  // one per page
		{40, 1, 40}, // everything on the first page
	} {
		t.Run(fmt.Sprintf("n%d_group%d_limit%d", tc.n, tc.group, tc.limit), func(t *testing.T) {
			bin := newBin(t, s)
			want := pagingSet(t, s, bin.ID, tc.n, tc.group)
			got := pageAll(t, s, schema.Filter{BinID: bin.ID, Limit: tc.limit})
			equalIDs(t, "pages", ids(got), ids(want))
		})
	}
}

func testPagingIdenticalTimestamps(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	want := pagingSet(t, s, bin.ID, 25, 25)
	got := pageAll(t, s, schema.Filter{BinID: bin.ID, Limit: 7})
	equalIDs(t, "pages", ids(got), ids(want))
	// A cursor in the middle of the group continues right after it.
	p := list(t, s, schema.Filter{BinID: bin.ID, Before: schema.CursorOf(want[10]), Limit: 3})
	equalIDs(t, "before middle", ids(p.Requests), ids(want[11:14]))
	p = list(t, s, schema.Filter{BinID: bin.ID, After: schema.CursorOf(want[10]), Limit: 3})
	equalIDs(t, "after middle", ids(p.Requests), ids([]*schema.Request{want[9], want[8], want[7]}))
}

func testPagingWithFilter(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	all := pagingSet(t, s, bin.ID, 60, 4)
	// Mark every third request as a GET by rewriting nothing: build a second set instead.
	base := baseTime().Add(time.Minute)
	var gets []*schema.Request
	for i := range 23 {
		r := req(t, bin.ID, base.Add(time.Duration(i/3)*time.Second))
		r.Method = "GET"
		r.ResponseStatus = 500
		gets = append(gets, r)
	}
	write(t, s, gets...)
	got := pageAll(t, s, schema.Filter{BinID: bin.ID, Method: "GET", StatusMin: 500, StatusMax: 599, Limit: 5})
	equalIDs(t, "filtered pages", ids(got), ids(newestFirst(gets)))
	got = pageAll(t, s, schema.Filter{BinID: bin.ID, Method: "POST", Limit: 9})
	equalIDs(t, "filtered pages POST", ids(got), ids(all))
}

func testPagingAfter(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	want := pagingSet(t, s, bin.ID, 40, 3) // newest first
	oldestFirst := slices.Clone(want)
	slices.Reverse(oldestFirst)

	// From before everything: the whole bin, oldest first.
	start := &schema.Cursor{ReceivedAt: baseTime().Add(-time.Hour)}
	got := pageAll(t, s, schema.Filter{BinID: bin.ID, After: start, Limit: 6})
	equalIDs(t, "after from start", ids(got), ids(oldestFirst))

	// From the middle: only strictly newer ones.
	mid := oldestFirst[17]
	got = pageAll(t, s, schema.Filter{BinID: bin.ID, After: schema.CursorOf(mid), Limit: 4})
	equalIDs(t, "after from middle", ids(got), ids(oldestFirst[18:]))

	// From the newest: nothing.
	p := list(t, s, schema.Filter{BinID: bin.ID, After: schema.CursorOf(want[0])})
	if len(p.Requests) != 0 || p.Next != nil {
		t.Errorf("after newest: %d requests, Next %v; want none", len(p.Requests), p.Next)
	}
}

func testLimit(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	reqs := make([]*schema.Request, 1005)
	for i := range reqs {
		reqs[i] = req(t, bin.ID, base.Add(time.Duration(i)*time.Millisecond))
	}
	write(t, s, reqs...)
	want := newestFirst(reqs)
	for _, tc := range []struct{ limit, want int }{
		{0, 50}, {1, 1}, {50, 50}, {999, 999}, {1000, 1000}, {1001, 1000}, {5000, 1000},
	} {
		p := list(t, s, schema.Filter{BinID: bin.ID, Limit: tc.limit})
		equalIDs(t, fmt.Sprintf("limit %d", tc.limit), ids(p.Requests), ids(want[:tc.want]))
		if p.Next == nil {
			t.Errorf("limit %d: Next nil with more requests left", tc.limit)
		}
	}
}

func testBodyPreview(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	for i, size := range []int{0, 1, schema.PreviewBytes - 1, schema.PreviewBytes, schema.PreviewBytes + 1, 1000, 64 << 10} {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		r.Body = make([]byte, size)
		for j := range r.Body {
			r.Body[j] = byte(j*31 + i) // all byte values, NUL and invalid UTF-8 included
		}
		r.BodySize = int64(size)
		reqs = append(reqs, r)
	}
	trunc := req(t, bin.ID, base.Add(time.Minute))
	trunc.Body = bytes.Repeat([]byte("x"), 1000)
	trunc.BodySize = 5000
	trunc.BodyTruncated = true
	reqs = append(reqs, trunc)
	write(t, s, reqs...)

	p := list(t, s, schema.Filter{BinID: bin.ID})
	want := newestFirst(reqs)
	equalIDs(t, "list", ids(p.Requests), ids(want))
	for i, got := range p.Requests {
		if i < len(want) {
			checkRequest(t, got, want[i], preview(want[i].Body))
		}
	}
	for _, w := range reqs {
		got, err := s.GetRequest(t.Context(), bin.ID, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkRequest(t, got, w, w.Body)
	}
}

func testGetRequestNotFound(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	r := req(t, bin.ID, baseTime())
	write(t, s, r)
	for name, tc := range map[string]struct {
		bin string
		id  uuid.UUID
	}{
		"unknown id":  {bin.ID, newV7(t)},
		"wrong bin":   {other.ID, r.ID},
		"unknown bin": {uniqueID("nobin"), r.ID},
	} {
		if got, err := s.GetRequest(ctx, tc.bin, tc.id); !errors.Is(err, schema.ErrNotFound) {
			t.Errorf("%s: GetRequest = %v, %v; want ErrNotFound", name, got, err)
		}
	}
	p := list(t, s, schema.Filter{BinID: uniqueID("nobin")})
	if len(p.Requests) != 0 || p.Next != nil {
		t.Errorf("unknown bin: %d requests, Next %v", len(p.Requests), p.Next)
	}
}

func testCountRequests(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	count := func(id string) int64 {
		t.Helper()
		n, err := s.CountRequests(ctx, id)
		if err != nil {
			t.Fatalf("CountRequests: %v", err)
		}
		return n
	}
	if n := count(bin.ID); n != 0 {
		t.Errorf("empty bin: %d", n)
	}
	base := baseTime()
	var reqs []*schema.Request
	for i := range 37 {
		reqs = append(reqs, req(t, bin.ID, base.Add(time.Duration(i)*time.Second)))
	}
	write(t, s, reqs...)
	write(t, s, req(t, other.ID, base))
	if n := count(bin.ID); n != 37 {
		t.Errorf("bin: %d, want 37", n)
	}
	if n := count(other.ID); n != 1 {
		t.Errorf("other bin: %d, want 1", n)
	}
	if n := count(uniqueID("nobin")); n != 0 {
		t.Errorf("unknown bin: %d", n)
	}
}

// replaySet is three plain requests, one forwarded (async) and two records
// of replays of the first (Forward.Mode "replay", 502 from a dead target,
// from another address, slower).
func replaySet(t *testing.T, bin string, base time.Time) []*schema.Request {
	var reqs []*schema.Request
	for i := range 4 {
		r := req(t, bin, base.Add(time.Duration(i)*time.Second))
		if i == 3 {
			r.Forward = &schema.Forward{URL: "https://target.example/", Mode: "async", Status: 200, LatencyUS: 900}
		}
		reqs = append(reqs, r)
	}
	for i := range 2 {
		r := req(t, bin, base.Add(time.Duration(10+i)*time.Second))
		r.Headers = append(r.Headers, schema.Header{Name: "X-Hookscope-Replay-Of", Value: reqs[0].ID.String()})
		r.ResponseStatus, r.LatencyUS, r.RemoteIP = 502, 99_000, "192.0.2.99"
		r.Forward = &schema.Forward{URL: "http://127.0.0.1:9/", Mode: "replay", Error: "connection refused"}
		reqs = append(reqs, r)
	}
	return reqs
}

// testFilterReplays: Filter.Replays leaves the records of replays out, or
// keeps only them, in lists and counts; the default lists everything.
func testFilterReplays(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin := newBin(t, s)
	reqs := replaySet(t, bin.ID, baseTime())
	write(t, s, reqs...)
	for _, tc := range []struct {
		f    schema.Filter
		want []int // indexes into reqs, newest first
	}{
		{schema.Filter{BinID: bin.ID}, []int{5, 4, 3, 2, 1, 0}},
		{schema.Filter{BinID: bin.ID, Replays: schema.ReplaysExclude}, []int{3, 2, 1, 0}},
		{schema.Filter{BinID: bin.ID, Replays: schema.ReplaysOnly}, []int{5, 4}},
		{schema.Filter{BinID: bin.ID, Replays: schema.ReplaysExclude, StatusMin: 500, StatusMax: 599}, nil},
		{schema.Filter{BinID: bin.ID, Replays: schema.ReplaysOnly, Q: "header:X-Hookscope-Replay-Of=" + reqs[0].ID.String()}, []int{5, 4}},
	} {
		tc.f.Limit = 100
		page, err := s.ListRequests(ctx, tc.f)
		if err != nil {
			t.Fatalf("ListRequests(%+v): %v", tc.f, err)
		}
		var got []int
		for _, r := range page.Requests {
			got = append(got, slices.IndexFunc(reqs, func(x *schema.Request) bool { return x.ID == r.ID }))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListRequests(replays %q, status %d-%d, q %q) = %v, want %v", tc.f.Replays, tc.f.StatusMin, tc.f.StatusMax, tc.f.Q, got, tc.want)
		}
		if n, err := s.CountMatching(ctx, tc.f, 100); err != nil || n != int64(len(tc.want)) {
			t.Errorf("CountMatching(replays %q) = %d, %v; want %d", tc.f.Replays, n, err, len(tc.want))
		}
	}
}
