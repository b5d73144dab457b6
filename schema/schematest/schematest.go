// Package schematest is the one conformance suite of schema.Store. Every
// backend's test file calls Run with a constructor; nothing else differs.
//
// The suite never assumes an empty database: each sub-test creates its own
// bins (and alert rules) with unique ids and only asserts about those, so it
// can run against a shared ClickHouse database. A nil error from
// WriteRequests means the data is readable immediately; the suite never waits.
package schematest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// Run runs the whole suite. newStore is called once per sub-test; it must
// return a ready store and register its own cleanup (t.Cleanup) — the suite
// never calls Close, so a constructor may hand out one shared store.
func Run(t *testing.T, newStore func(t *testing.T) schema.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s schema.Store)
	}{
		{"RequestRoundTrip", testRequestRoundTrip},
		{"WriteIdempotent", testWriteIdempotent},
		{"WriteValidation", testWriteValidation},
		{"Filters", testFilters},
		{"PagingBefore", testPagingBefore},
		{"PagingIdenticalTimestamps", testPagingIdenticalTimestamps},
		{"PagingWithFilter", testPagingWithFilter},
		{"PagingAfter", testPagingAfter},
		{"Limit", testLimit},
		{"BodyPreview", testBodyPreview},
		{"GetRequestNotFound", testGetRequestNotFound},
		{"CountRequests", testCountRequests},
		{"StatsEmpty", testStatsEmpty},
		{"StatsExact", testStatsExact},
		{"StatsSeries", testStatsSeries},
		{"StatsTopSenders", testStatsTopSenders},
		{"StatsRange", testStatsRange},
		{"StatsPercentilesInRange", testStatsPercentilesInRange},
		{"Bins", testBins},
		{"ListBins", testListBins},
		{"DeleteBin", testDeleteBin},
		{"DeleteRequests", testDeleteRequests},
		{"PurgeExpired", testPurgeExpired},
		{"TrimRequests", testTrimRequests},
		{"AlertRules", testAlertRules},
		{"AlertEvents", testAlertEvents},
		{"ConcurrentWriteAndPage", testConcurrentWriteAndPage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s)
		})
	}
}

// ---- helpers ---------------------------------------------------------------

func uniqueID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// baseTime is an hour-aligned instant safely in the past, so that "up to now"
// covers everything the suite writes and series buckets are easy to predict.
func baseTime() time.Time {
	return time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
}

func newBin(t *testing.T, s schema.Store) *schema.Bin {
	t.Helper()
	b := &schema.Bin{ID: uniqueID("st"), Name: "suite " + t.Name(), CreatedAt: schema.Truncate(time.Now())}
	if err := s.CreateBin(t.Context(), b); err != nil {
		t.Fatalf("CreateBin: %v", err)
	}
	return b
}

func newV7(t *testing.T) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatalf("NewV7: %v", err)
	}
	return id
}

// req returns a plain request of bin at at; callers adjust fields.
func req(t *testing.T, binID string, at time.Time) *schema.Request {
	t.Helper()
	body := []byte(`{"event":"ping"}`)
	return &schema.Request{
		ID:             newV7(t),
		BinID:          binID,
		ReceivedAt:     schema.Truncate(at),
		Method:         "POST",
		Path:           "/",
		Query:          "",
		Headers:        []schema.Header{{Name: "Content-Type", Value: "application/json"}},
		RemoteIP:       "192.0.2.1",
		ContentType:    "application/json",
		BodySize:       int64(len(body)),
		Body:           body,
		ResponseStatus: 200,
		LatencyUS:      100,
		Signature:      schema.Signature{Status: schema.SigUnchecked},
	}
}

func write(t *testing.T, s schema.Store, reqs ...*schema.Request) {
	t.Helper()
	if err := s.WriteRequests(t.Context(), reqs); err != nil {
		t.Fatalf("WriteRequests(%d): %v", len(reqs), err)
	}
}

// newestFirst sorts a copy of reqs by (ReceivedAt, ID) descending.
func newestFirst(reqs []*schema.Request) []*schema.Request {
	out := slices.Clone(reqs)
	sort.Slice(out, func(i, j int) bool { return schema.CursorOf(out[i]).Less(out[j].ReceivedAt, out[j].ID) })
	return out
}

func ids(reqs []*schema.Request) []uuid.UUID {
	out := make([]uuid.UUID, len(reqs))
	for i, r := range reqs {
		out[i] = r.ID
	}
	return out
}

func list(t *testing.T, s schema.Store, f schema.Filter) schema.Page {
	t.Helper()
	p, err := s.ListRequests(t.Context(), f)
	if err != nil {
		t.Fatalf("ListRequests(%+v): %v", f, err)
	}
	return p
}

// pageAll follows Next from f to the end and checks the pages on the way.
func pageAll(t *testing.T, s schema.Store, f schema.Filter) []*schema.Request {
	t.Helper()
	var all []*schema.Request
	limit := f.Limit
	if limit == 0 {
		limit = 50
	}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not terminate")
		}
		p := list(t, s, f)
		if len(p.Requests) > limit {
			t.Fatalf("page of %d requests with limit %d", len(p.Requests), limit)
		}
		all = append(all, p.Requests...)
		if p.Next == nil {
			return all
		}
		if len(p.Requests) == 0 {
			t.Fatal("empty page with a Next cursor")
		}
		last := p.Requests[len(p.Requests)-1]
		if *p.Next != *schema.CursorOf(last) {
			t.Fatalf("Next = %v, want the cursor of the last request %v", p.Next, schema.CursorOf(last))
		}
		if f.After != nil {
			f.After = p.Next
		} else {
			f.Before = p.Next
		}
	}
}

func equalIDs(t *testing.T, what string, got, want []uuid.UUID) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	show := func(s []uuid.UUID) []uuid.UUID { return s[i:min(len(s), i+3)] }
	t.Errorf("%s: got %d ids, want %d; first difference at %d: got %v..., want %v...",
		what, len(got), len(want), i, show(got), show(want))
}

func headersEqual(a, b []schema.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkRequest compares every field; body is compared to wantBody.
func checkRequest(t *testing.T, got, want *schema.Request, wantBody []byte) {
	t.Helper()
	if got == nil {
		t.Fatalf("request %s: got nil", want.ID)
	}
	errorf := func(field string, g, w any) {
		t.Helper()
		t.Errorf("request %s: %s = %#v, want %#v", want.ID, field, g, w)
	}
	if got.ID != want.ID {
		errorf("ID", got.ID, want.ID)
	}
	if got.BinID != want.BinID {
		errorf("BinID", got.BinID, want.BinID)
	}
	if !got.ReceivedAt.Equal(want.ReceivedAt) {
		errorf("ReceivedAt", got.ReceivedAt.Format(time.RFC3339Nano), want.ReceivedAt.Format(time.RFC3339Nano))
	}
	if got.ReceivedAt.Location() != time.UTC {
		errorf("ReceivedAt.Location", got.ReceivedAt.Location().String(), "UTC")
	}
	if got.Method != want.Method {
		errorf("Method", got.Method, want.Method)
	}
	if got.Path != want.Path {
		errorf("Path", got.Path, want.Path)
	}
	if got.Query != want.Query {
		errorf("Query", got.Query, want.Query)
	}
	if !headersEqual(got.Headers, want.Headers) {
		errorf("Headers", got.Headers, want.Headers)
	}
	if got.RemoteIP != want.RemoteIP {
		errorf("RemoteIP", got.RemoteIP, want.RemoteIP)
	}
	if got.ContentType != want.ContentType {
		errorf("ContentType", got.ContentType, want.ContentType)
	}
	if got.BodySize != want.BodySize {
		errorf("BodySize", got.BodySize, want.BodySize)
	}
	if got.BodyTruncated != want.BodyTruncated {
		errorf("BodyTruncated", got.BodyTruncated, want.BodyTruncated)
	}
	if !bytes.Equal(got.Body, wantBody) {
		t.Errorf("request %s: Body (%d bytes) %q..., want (%d bytes) %q...", want.ID,
			len(got.Body), got.Body[:min(len(got.Body), 32)], len(wantBody), wantBody[:min(len(wantBody), 32)])
	}
	if got.ResponseStatus != want.ResponseStatus {
		errorf("ResponseStatus", got.ResponseStatus, want.ResponseStatus)
	}
	if got.LatencyUS != want.LatencyUS {
		errorf("LatencyUS", got.LatencyUS, want.LatencyUS)
	}
	if got.Signature != want.Signature {
		errorf("Signature", got.Signature, want.Signature)
	}
	switch {
	case (got.DeliveryLagMS == nil) != (want.DeliveryLagMS == nil):
		errorf("DeliveryLagMS nil-ness", got.DeliveryLagMS == nil, want.DeliveryLagMS == nil)
	case got.DeliveryLagMS != nil && *got.DeliveryLagMS != *want.DeliveryLagMS:
		errorf("DeliveryLagMS", *got.DeliveryLagMS, *want.DeliveryLagMS)
	}
	switch {
	case (got.Forward == nil) != (want.Forward == nil):
		errorf("Forward nil-ness", got.Forward == nil, want.Forward == nil)
	case got.Forward != nil && *got.Forward != *want.Forward:
		errorf("Forward", *got.Forward, *want.Forward)
	}
}

func preview(b []byte) []byte {
	if len(b) > schema.PreviewBytes {
		return b[:schema.PreviewBytes]
	}
	return b
}

func ptr[T any](v T) *T { return &v }

// ---- requests --------------------------------------------------------------

func roundTripRequests(t *testing.T, binID string) []*schema.Request {
	base := baseTime().Add(123456 * time.Microsecond)
	big := make([]byte, 300<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	var out []*schema.Request

	// Binary body: invalid UTF-8 and NUL bytes; duplicate headers in order.
	r := req(t, binID, base)
	r.Body = []byte{0xff, 0xfe, 0x00, 'a', 0x00, 0xc3, 0x28, 0x80, 0x00}
	r.BodySize = int64(len(r.Body))
	r.ContentType = "application/octet-stream"
	r.Headers = []schema.Header{
		{Name: "X-Dup", Value: "1"}, {Name: "Content-Type", Value: "application/octet-stream"},
		{Name: "X-Dup", Value: "2"}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "X-Dup", Value: "1"},
		{Name: "X-Empty", Value: ""}, {Name: "Set-Cookie", Value: "b=2; Path=/"},
	}
	r.Signature = schema.Signature{Scheme: "stripe", Status: schema.SigInvalid, Reason: "no v1 signature matched"}
	r.DeliveryLagMS = ptr(int64(1530))
	out = append(out, r)

	// Unicode everywhere, forward set, zero lag (distinct from nil).
	r = req(t, binID, base.Add(1*time.Microsecond))
	r.Method = "PATCH"
	r.Path = "/ünïcödé/日本/✓"
	r.Query = "q=%E2%9C%93&x=1&x=2&name=Zoë"
	r.Headers = []schema.Header{{Name: "X-Unicode", Value: "héllo ✓ 日本語 😀"}, {Name: "Accept", Value: "*/*"}}
	r.Body = []byte(`{"text":"héllo 😀 日本"}`)
	r.BodySize = int64(len(r.Body))
	r.RemoteIP = "2001:db8::42"
	r.ResponseStatus = 202
	r.LatencyUS = 987654
	r.Signature = schema.Signature{Scheme: "standard-webhooks", Status: schema.SigValid}
	r.DeliveryLagMS = ptr(int64(0))
	r.Forward = &schema.Forward{URL: "https://example.com/hook?a=b", Mode: "proxy", Status: 502, LatencyUS: 120034, Error: "upstream: connection reset"}
	out = append(out, r)

	// Empty body, no headers, no content type, an unknown method, negative lag.
	r = req(t, binID, base.Add(2*time.Second+999999*time.Microsecond))
	r.Method = "PROPFIND"
	r.Headers = nil
	r.ContentType = ""
	r.Body = nil
	r.BodySize = 0
	r.ResponseStatus = 404
	r.Signature = schema.Signature{Scheme: "github", Status: schema.SigMissing, Reason: "no X-Hub-Signature-256 header"}
	r.DeliveryLagMS = ptr(int64(-250))
	r.Forward = &schema.Forward{URL: "http://target.example/", Mode: "async", Status: 200, LatencyUS: 1}
	out = append(out, r)

	// Truncated large body: BodySize is what the sender sent.
	r = req(t, binID, base.Add(3*time.Second))
	r.Body = big
	r.BodySize = int64(len(big)) + 12345
	r.BodyTruncated = true
	r.ResponseStatus = 413
	r.Path = "/upload"
	out = append(out, r)

	// Same instant as the first one: ordering falls back to the id.
	r = req(t, binID, base)
	r.Method = "GET"
	r.Body = []byte{}
	r.BodySize = 0
	out = append(out, r)
	return out
}

func testRequestRoundTrip(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin := newBin(t, s)
	reqs := roundTripRequests(t, bin.ID)
	// Each request alone first (a batch whose only request has no headers
	// or no body must store it), then all of them again as one retried batch.
	for _, r := range reqs {
		write(t, s, r)
	}
	write(t, s, reqs...)

	for _, want := range reqs {
		got, err := s.GetRequest(ctx, bin.ID, want.ID)
		if err != nil {
			t.Fatalf("GetRequest(%s): %v", want.ID, err)
		}
		checkRequest(t, got, want, want.Body)
	}

	p := list(t, s, schema.Filter{BinID: bin.ID})
	want := newestFirst(reqs)
	equalIDs(t, "list order", ids(p.Requests), ids(want))
	if p.Next != nil {
		t.Errorf("Next = %v for a complete first page, want nil", p.Next)
	}
	for i, got := range p.Requests {
		if i < len(want) {
			checkRequest(t, got, want[i], preview(want[i].Body))
		}
	}
}

func testWriteIdempotent(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin := newBin(t, s)
	base := baseTime()
	a, b, c := req(t, bin.ID, base), req(t, bin.ID, base.Add(time.Second)), req(t, bin.ID, base.Add(2*time.Second))
	write(t, s, a, b, c)
	// A retry of the whole batch plus a new request, and the same id twice in one batch.
	d := req(t, bin.ID, base.Add(3*time.Second))
	write(t, s, a, b, c, d, d)
	write(t, s, b)
	if err := s.WriteRequests(ctx, nil); err != nil {
		t.Fatalf("WriteRequests(nil): %v", err)
	}
	n, err := s.CountRequests(ctx, bin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("CountRequests = %d, want 4", n)
	}
	p := list(t, s, schema.Filter{BinID: bin.ID})
	equalIDs(t, "list", ids(p.Requests), ids([]*schema.Request{d, c, b, a}))
}

func testWriteValidation(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	noID := req(t, bin.ID, baseTime())
	noID.ID = uuid.Nil
	noBin := req(t, "", baseTime())
	for name, r := range map[string]*schema.Request{"nil id": noID, "empty bin": noBin} {
		if err := s.WriteRequests(t.Context(), []*schema.Request{r}); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("WriteRequests(%s) = %v, want ErrInvalid", name, err)
		}
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

// ---- stats -----------------------------------------------------------------

func stats(t *testing.T, s schema.Store, q schema.StatsQuery) *schema.Stats {
	t.Helper()
	st, err := s.Stats(t.Context(), q)
	if err != nil {
		t.Fatalf("Stats(%+v): %v", q, err)
	}
	if st.ByStatus == nil || st.ByMethod == nil || st.BySignature == nil || st.Series == nil || st.TopSenders == nil {
		t.Errorf("Stats has nil maps or slices: %+v", st)
	}
	return st
}

func checkMap(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

func testStatsEmpty(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Minute})
	if st.Total != 0 || len(st.ByStatus)+len(st.ByMethod)+len(st.BySignature)+len(st.Series)+len(st.TopSenders) != 0 ||
		st.LatencyUS != (schema.Percentiles{}) {
		t.Errorf("empty bin stats = %+v, want zero values", st)
	}
	// A range that excludes every request behaves the same.
	write(t, s, req(t, bin.ID, baseTime()))
	st = stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: baseTime().Add(time.Hour), Step: time.Minute})
	if st.Total != 0 || len(st.Series) != 0 || len(st.TopSenders) != 0 || len(st.ByStatus) != 0 {
		t.Errorf("stats of an empty range = %+v", st)
	}
}

// testStatsExact uses a data set on which every common percentile definition
// (nearest rank, exact quantile, linear interpolation) gives the same answer:
// 90 × 10µs, 8 × 200µs, 2 × 5000µs → p50 10, p95 200, p99 5000.
func testStatsExact(t *testing.T, s schema.Store) {
	bin, other := newBin(t, s), newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	for i := range 100 {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		switch {
		case i < 90:
			r.LatencyUS = 10
		case i < 98:
			r.LatencyUS = 200
		default:
			r.LatencyUS = 5000
		}
		r.Method = []string{"POST", "GET", "PUT", "POST"}[i%4]
		r.ResponseStatus = []int{200, 200, 404, 500, 201}[i%5]
		r.Signature.Status = []schema.SignatureStatus{schema.SigValid, schema.SigInvalid, schema.SigMissing, schema.SigUnchecked}[i%4]
		r.RemoteIP = fmt.Sprintf("10.1.0.%d", i%3)
		reqs = append(reqs, r)
	}
	// Shuffle the write order so percentiles cannot come from insertion order.
	slices.Reverse(reqs[40:])
	write(t, s, reqs...)
	noise := req(t, other.ID, base)
	noise.LatencyUS = 1 << 40
	write(t, s, noise)

	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Hour})
	if st.Total != 100 {
		t.Errorf("Total = %d, want 100", st.Total)
	}
	checkMap(t, "ByStatus", st.ByStatus, map[string]int64{"200": 40, "404": 20, "500": 20, "201": 20})
	checkMap(t, "ByMethod", st.ByMethod, map[string]int64{"POST": 50, "GET": 25, "PUT": 25})
	checkMap(t, "BySignature", st.BySignature, map[string]int64{"valid": 25, "invalid": 25, "missing": 25, "unchecked": 25})
	if want := (schema.Percentiles{P50: 10, P95: 200, P99: 5000}); st.LatencyUS != want {
		t.Errorf("LatencyUS = %+v, want %+v", st.LatencyUS, want)
	}
	if len(st.Series) != 1 || !st.Series[0].T.Equal(base) || st.Series[0].Count != 100 || st.Series[0].P95LatencyUS != 200 {
		t.Errorf("Series = %+v, want one hour bucket at %v with 100 requests and p95 200", st.Series, base)
	}
	wantTop := []schema.SenderCount{{IP: "10.1.0.0", Count: 34}, {IP: "10.1.0.1", Count: 33}, {IP: "10.1.0.2", Count: 33}}
	if !slices.Equal(st.TopSenders, wantTop) {
		t.Errorf("TopSenders = %+v, want %+v", st.TopSenders, wantTop)
	}

	// One value only: every percentile is that value.
	single := newBin(t, s)
	r := req(t, single.ID, base)
	r.LatencyUS = 4242
	write(t, s, r)
	st = stats(t, s, schema.StatsQuery{BinID: single.ID, Step: time.Minute})
	if want := (schema.Percentiles{P50: 4242, P95: 4242, P99: 4242}); st.LatencyUS != want || st.Total != 1 {
		t.Errorf("single request: total %d, LatencyUS %+v, want %+v", st.Total, st.LatencyUS, want)
	}
}

func testStatsSeries(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	// Buckets of one minute at minutes 0, 1 and 5 (2-4 empty), with requests at
	// unaligned offsets inside them; each bucket has one latency value so its
	// p95 is unambiguous.
	plan := []struct {
		minute, n int
		latency   int64
	}{{0, 3, 100}, {1, 5, 300}, {5, 2, 700}}
	var reqs []*schema.Request
	for _, b := range plan {
		for i := range b.n {
			at := base.Add(time.Duration(b.minute)*time.Minute + time.Duration(1+i*11)*time.Second + 123*time.Microsecond)
			r := req(t, bin.ID, at)
			r.LatencyUS = b.latency
			reqs = append(reqs, r)
		}
	}
	// One request in the last microsecond of minute 1 belongs to minute 1.
	edge := req(t, bin.ID, base.Add(2*time.Minute-time.Microsecond))
	edge.LatencyUS = 300
	reqs = append(reqs, edge)
	write(t, s, reqs...)

	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Minute})
	want := []schema.SeriesPoint{
		{T: base, Count: 3, P95LatencyUS: 100},
		{T: base.Add(time.Minute), Count: 6, P95LatencyUS: 300},
		{T: base.Add(5 * time.Minute), Count: 2, P95LatencyUS: 700},
	}
	checkSeries(t, st.Series, want)

	// A step of 2 minutes merges minutes 0 and 1; buckets stay aligned to the epoch.
	st = stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: 2 * time.Minute})
	for _, p := range st.Series {
		if p.T.UnixMicro()%(2*time.Minute).Microseconds() != 0 {
			t.Errorf("bucket %v not aligned to 2m", p.T)
		}
		if p.T.Location() != time.UTC {
			t.Errorf("bucket %v not UTC", p.T)
		}
	}
	if len(st.Series) != 2 || st.Series[0].Count != 9 || st.Series[1].Count != 2 || !st.Series[1].T.Equal(base.Add(4*time.Minute)) {
		t.Errorf("2m series = %+v", st.Series)
	} else if p := st.Series[0].P95LatencyUS; p < 100 || p > 300 {
		t.Errorf("2m bucket p95 = %d, outside observed 100..300", p)
	}
}

func checkSeries(t *testing.T, got, want []schema.SeriesPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Series = %+v, want %+v", got, want)
		return
	}
	for i := range want {
		if !got[i].T.Equal(want[i].T) || got[i].Count != want[i].Count || got[i].P95LatencyUS != want[i].P95LatencyUS {
			t.Errorf("Series[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testStatsTopSenders(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	// Counts with ties; "10.0.0.10" sorts before "10.0.0.2" as text.
	counts := map[string]int{
		"10.0.0.2": 5, "10.0.0.10": 5, "2001:db8::1": 7, "10.0.0.3": 4,
		"10.0.0.4": 2, "10.0.0.5": 2, "10.0.0.6": 2, "10.0.0.7": 1,
		"10.0.0.8": 1, "10.0.0.9": 1, "10.0.0.11": 1, "10.0.0.12": 1,
	}
	var reqs []*schema.Request
	i := 0
	for ip, n := range counts {
		for range n {
			r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
			r.RemoteIP = ip
			reqs = append(reqs, r)
			i++
		}
	}
	write(t, s, reqs...)
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Minute})
	want := []schema.SenderCount{
		{IP: "2001:db8::1", Count: 7}, {IP: "10.0.0.10", Count: 5}, {IP: "10.0.0.2", Count: 5}, {IP: "10.0.0.3", Count: 4},
		{IP: "10.0.0.4", Count: 2}, {IP: "10.0.0.5", Count: 2}, {IP: "10.0.0.6", Count: 2},
		{IP: "10.0.0.11", Count: 1}, {IP: "10.0.0.12", Count: 1}, {IP: "10.0.0.7", Count: 1},
	}
	if !slices.Equal(st.TopSenders, want) {
		t.Errorf("TopSenders =\n%+v\nwant\n%+v", st.TopSenders, want)
	}
}

func testStatsRange(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	for i := range 10 {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Minute))
		r.LatencyUS = int64(1000 * (i + 1))
		r.ResponseStatus = 200 + i
		r.RemoteIP = fmt.Sprintf("10.2.0.%d", i)
		reqs = append(reqs, r)
	}
	write(t, s, reqs...)
	// [minute 3, minute 6): requests 3, 4, 5.
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: base.Add(3 * time.Minute), Until: base.Add(6 * time.Minute), Step: time.Minute})
	if st.Total != 3 {
		t.Errorf("Total = %d, want 3", st.Total)
	}
	checkMap(t, "ByStatus", st.ByStatus, map[string]int64{"203": 1, "204": 1, "205": 1})
	checkMap(t, "ByMethod", st.ByMethod, map[string]int64{"POST": 3})
	if st.LatencyUS.P50 < 4000 || st.LatencyUS.P99 > 6000 || st.LatencyUS.P99 < st.LatencyUS.P50 {
		t.Errorf("LatencyUS = %+v, outside 4000..6000", st.LatencyUS)
	}
	checkSeries(t, st.Series, []schema.SeriesPoint{
		{T: base.Add(3 * time.Minute), Count: 1, P95LatencyUS: 4000},
		{T: base.Add(4 * time.Minute), Count: 1, P95LatencyUS: 5000},
		{T: base.Add(5 * time.Minute), Count: 1, P95LatencyUS: 6000},
	})
	if len(st.TopSenders) != 3 || st.TopSenders[0] != (schema.SenderCount{IP: "10.2.0.3", Count: 1}) {
		t.Errorf("TopSenders = %+v", st.TopSenders)
	}
	// Since only, and Until only.
	if st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: base.Add(8 * time.Minute), Step: time.Minute}); st.Total != 2 {
		t.Errorf("since minute 8: Total = %d, want 2", st.Total)
	}
	if st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Until: base.Add(2 * time.Minute), Step: time.Minute}); st.Total != 2 {
		t.Errorf("until minute 2: Total = %d, want 2", st.Total)
	}
}

func testStatsPercentilesInRange(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	lo, hi := int64(1<<62), int64(0)
	var seed uint64 = 0x9e3779b97f4a7c15
	for i := range 997 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		r.LatencyUS = 50 + int64(seed%1_000_000)
		lo, hi = min(lo, r.LatencyUS), max(hi, r.LatencyUS)
		reqs = append(reqs, r)
	}
	write(t, s, reqs...)
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: 5 * time.Minute})
	p := st.LatencyUS
	if p.P50 < lo || p.P99 > hi || p.P50 > p.P95 || p.P95 > p.P99 {
		t.Errorf("percentiles %+v not ordered within observed [%d, %d]", p, lo, hi)
	}
	var total int64
	for i, pt := range st.Series {
		total += pt.Count
		if pt.Count <= 0 || pt.P95LatencyUS < lo || pt.P95LatencyUS > hi {
			t.Errorf("series point %+v invalid", pt)
		}
		if i > 0 && !st.Series[i-1].T.Before(pt.T) {
			t.Errorf("series not ascending at %d", i)
		}
	}
	if total != 997 {
		t.Errorf("series counts sum to %d, want 997", total)
	}
}

// ---- bins ------------------------------------------------------------------

func checkBin(t *testing.T, got, want *schema.Bin) {
	t.Helper()
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("bin\n got %s\nwant %s", gj, wj)
	}
	if got.CreatedAt.Location() != time.UTC || (got.ExpiresAt != nil && got.ExpiresAt.Location() != time.UTC) {
		t.Errorf("bin times not UTC: %v %v", got.CreatedAt, got.ExpiresAt)
	}
}

func testBins(t *testing.T, s schema.Store) {
	ctx := t.Context()
	now := schema.Truncate(time.Now())
	exp := now.Add(48*time.Hour + 123*time.Microsecond)
	b := &schema.Bin{
		ID: uniqueID("bin"), Name: "Zoë's bin ✓", CreatedAt: now.Add(-7 * time.Microsecond), ExpiresAt: &exp, Private: true,
		Settings: schema.BinSettings{
			Signature: &schema.SignatureConfig{Scheme: "hmac", Secret: "s3cr3t", Tolerance: "5m", Header: "X-Sig", Algorithm: "sha256", Encoding: "hex", Prefix: "sha256="},
			Response: &schema.ResponseConfig{Status: 202, Headers: []schema.Header{{Name: "X-A", Value: "1"}, {Name: "X-A", Value: "2"}}, Body: `{"ok":true}`, DelayMS: 10,
				Rules: []schema.ResponseRule{{Method: "GET", PathPrefix: "/health", Status: 204}}},
			Forward: &schema.ForwardConfig{URL: "https://example.com/x", Timeout: "5s", Mode: "proxy"},
		},
	}
	if err := s.CreateBin(ctx, b); err != nil {
		t.Fatalf("CreateBin: %v", err)
	}
	got, err := s.GetBin(ctx, b.ID)
	if err != nil {
		t.Fatalf("GetBin: %v", err)
	}
	checkBin(t, got, b)

	dup := *b
	dup.Name = "other"
	if err := s.CreateBin(ctx, &dup); !errors.Is(err, schema.ErrConflict) {
		t.Errorf("CreateBin twice = %v, want ErrConflict", err)
	}
	if got, err := s.GetBin(ctx, b.ID); err != nil || got.Name != b.Name {
		t.Errorf("conflicting create changed the bin: %+v, %v", got, err)
	}
	if _, err := s.GetBin(ctx, uniqueID("nobin")); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetBin(unknown) = %v, want ErrNotFound", err)
	}

	// Update: every mutable field changes; CreatedAt stays.
	upd := &schema.Bin{ID: b.ID, Name: "renamed", CreatedAt: b.CreatedAt, ExpiresAt: nil, Private: false,
		Settings: schema.BinSettings{Signature: &schema.SignatureConfig{Scheme: "stripe", Secret: "whsec_x"}}}
	if err := s.UpdateBin(ctx, upd); err != nil {
		t.Fatalf("UpdateBin: %v", err)
	}
	got, err = s.GetBin(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkBin(t, got, upd)
	back := *upd
	back.ExpiresAt = &exp
	if err := s.UpdateBin(ctx, &back); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetBin(ctx, b.ID); err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Errorf("expiry not set again: %+v, %v", got, err)
	}
	if err := s.UpdateBin(ctx, &schema.Bin{ID: uniqueID("nobin"), Name: "x"}); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("UpdateBin(unknown) = %v, want ErrNotFound", err)
	}

	// Expired bins are still returned until purged.
	past := now.Add(-time.Hour)
	old := &schema.Bin{ID: uniqueID("bin"), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: &past}
	if err := s.CreateBin(ctx, old); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetBin(ctx, old.ID)
	if err != nil {
		t.Fatalf("GetBin(expired) = %v", err)
	}
	if !got.Expired(now) {
		t.Errorf("bin %+v should report expired", got)
	}
	checkBin(t, got, old)
	if err := s.DeleteBin(ctx, old.ID); err != nil { // keep PurgeExpired counts of other tests exact
		t.Fatal(err)
	}
}

func testListBins(t *testing.T, s schema.Store) {
	ctx := t.Context()
	now := schema.Truncate(time.Now())
	var mine []*schema.Bin
	for i, d := range []time.Duration{3 * time.Second, 1 * time.Second, 2 * time.Second} {
		b := &schema.Bin{ID: uniqueID(fmt.Sprintf("list%d", i)), Name: fmt.Sprint(i), CreatedAt: now.Add(d)}
		if err := s.CreateBin(ctx, b); err != nil {
			t.Fatal(err)
		}
		mine = append(mine, b)
	}
	all, err := s.ListBins(ctx)
	if err != nil {
		t.Fatalf("ListBins: %v", err)
	}
	var got []string
	for i, b := range all {
		if i > 0 && all[i-1].CreatedAt.Before(b.CreatedAt) {
			t.Errorf("ListBins not newest first at %d: %v before %v", i, all[i-1].CreatedAt, b.CreatedAt)
		}
		for _, m := range mine {
			if m.ID == b.ID {
				got = append(got, b.ID)
				checkBin(t, b, m)
			}
		}
	}
	if want := []string{mine[0].ID, mine[2].ID, mine[1].ID}; !slices.Equal(got, want) {
		t.Errorf("our bins in ListBins = %v, want %v", got, want)
	}
}

func testDeleteBin(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, keep := newBin(t, s), newBin(t, s)
	r := req(t, bin.ID, baseTime())
	k := req(t, keep.ID, baseTime())
	write(t, s, r, k)
	if err := s.DeleteBin(ctx, bin.ID); err != nil {
		t.Fatalf("DeleteBin: %v", err)
	}
	if _, err := s.GetBin(ctx, bin.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetBin after delete = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRequest(ctx, bin.ID, r.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRequest after DeleteBin = %v, want ErrNotFound", err)
	}
	if n, err := s.CountRequests(ctx, bin.ID); err != nil || n != 0 {
		t.Errorf("CountRequests after DeleteBin = %d, %v", n, err)
	}
	if p := list(t, s, schema.Filter{BinID: bin.ID}); len(p.Requests) != 0 {
		t.Errorf("ListRequests after DeleteBin: %d requests", len(p.Requests))
	}
	if err := s.DeleteBin(ctx, bin.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("DeleteBin twice = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRequest(ctx, keep.ID, k.ID); err != nil {
		t.Errorf("other bin's request gone: %v", err)
	}
	// The id can be used again and starts empty.
	again := &schema.Bin{ID: bin.ID, CreatedAt: schema.Truncate(time.Now())}
	if err := s.CreateBin(ctx, again); err != nil {
		t.Fatalf("CreateBin after delete: %v", err)
	}
	if n, _ := s.CountRequests(ctx, bin.ID); n != 0 {
		t.Errorf("recreated bin holds %d requests", n)
	}
}

// ---- retention -------------------------------------------------------------

func testDeleteRequests(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, keep := newBin(t, s), newBin(t, s)
	var reqs []*schema.Request
	for i := range 20 {
		reqs = append(reqs, req(t, bin.ID, baseTime().Add(time.Duration(i)*time.Second)))
	}
	k := req(t, keep.ID, baseTime())
	write(t, s, append(reqs, k)...)
	if err := s.DeleteRequests(ctx, bin.ID); err != nil {
		t.Fatalf("DeleteRequests: %v", err)
	}
	if n, err := s.CountRequests(ctx, bin.ID); err != nil || n != 0 {
		t.Errorf("CountRequests = %d, %v; want 0", n, err)
	}
	if p := list(t, s, schema.Filter{BinID: bin.ID}); len(p.Requests) != 0 {
		t.Errorf("%d requests left", len(p.Requests))
	}
	if _, err := s.GetBin(ctx, bin.ID); err != nil {
		t.Errorf("bin gone after DeleteRequests: %v", err)
	}
	if n, _ := s.CountRequests(ctx, keep.ID); n != 1 {
		t.Errorf("other bin holds %d, want 1", n)
	}
	// The bin keeps working.
	write(t, s, req(t, bin.ID, baseTime()))
	if n, _ := s.CountRequests(ctx, bin.ID); n != 1 {
		t.Errorf("after a new write: %d, want 1", n)
	}
}

func testPurgeExpired(t *testing.T, s schema.Store) {
	ctx := t.Context()
	now := schema.Truncate(time.Now())
	mk := func(expires *time.Time) (*schema.Bin, *schema.Request) {
		b := &schema.Bin{ID: uniqueID("purge"), CreatedAt: now.Add(-24 * time.Hour), ExpiresAt: expires}
		if err := s.CreateBin(ctx, b); err != nil {
			t.Fatal(err)
		}
		r := req(t, b.ID, baseTime())
		write(t, s, r)
		return b, r
	}
	past, at, future := now.Add(-time.Hour), now, now.Add(time.Microsecond)
	expired, er := mk(&past)
	edge, edr := mk(&at) // expires exactly at now: removed
	live, lr := mk(&future)
	forever, fr := mk(nil)

	n, err := s.PurgeExpired(ctx, now)
	if err != nil {
		t.Fatalf("PurgeExpired: %v", err)
	}
	if n < 2 { // other users of a shared database may have expired bins too
		t.Errorf("PurgeExpired removed %d bins, want at least 2", n)
	}
	for _, gone := range []struct {
		b *schema.Bin
		r *schema.Request
	}{{expired, er}, {edge, edr}} {
		if _, err := s.GetBin(ctx, gone.b.ID); !errors.Is(err, schema.ErrNotFound) {
			t.Errorf("expired bin %s: GetBin = %v, want ErrNotFound", gone.b.ID, err)
		}
		if _, err := s.GetRequest(ctx, gone.b.ID, gone.r.ID); !errors.Is(err, schema.ErrNotFound) {
			t.Errorf("expired bin %s: GetRequest = %v, want ErrNotFound", gone.b.ID, err)
		}
		if c, _ := s.CountRequests(ctx, gone.b.ID); c != 0 {
			t.Errorf("expired bin %s still holds %d requests", gone.b.ID, c)
		}
	}
	for _, kept := range []struct {
		b *schema.Bin
		r *schema.Request
	}{{live, lr}, {forever, fr}} {
		if _, err := s.GetBin(ctx, kept.b.ID); err != nil {
			t.Errorf("live bin %s: %v", kept.b.ID, err)
		}
		if _, err := s.GetRequest(ctx, kept.b.ID, kept.r.ID); err != nil {
			t.Errorf("live bin %s lost its request: %v", kept.b.ID, err)
		}
	}
	if n, err := s.PurgeExpired(ctx, now); err != nil || n != 0 {
		t.Errorf("second PurgeExpired = %d, %v; want 0", n, err)
	}
	_ = s.DeleteBin(ctx, live.ID) // it expires a microsecond from now; keep other runs exact
}

func testTrimRequests(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	want := pagingSet(t, s, bin.ID, 30, 4) // newest first, with identical timestamps at the border
	write(t, s, req(t, other.ID, baseTime()))

	n, err := s.TrimRequests(ctx, bin.ID, 10)
	if err != nil {
		t.Fatalf("TrimRequests: %v", err)
	}
	if n != 20 {
		t.Errorf("TrimRequests removed %d, want 20", n)
	}
	got := pageAll(t, s, schema.Filter{BinID: bin.ID, Limit: 4})
	equalIDs(t, "kept", ids(got), ids(want[:10]))
	if c, _ := s.CountRequests(ctx, bin.ID); c != 10 {
		t.Errorf("CountRequests = %d, want 10", c)
	}
	if _, err := s.GetRequest(ctx, bin.ID, want[10].ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("trimmed request still readable: %v", err)
	}
	if n, err := s.TrimRequests(ctx, bin.ID, 50); err != nil || n != 0 {
		t.Errorf("TrimRequests above the count = %d, %v; want 0", n, err)
	}
	if n, err := s.TrimRequests(ctx, bin.ID, 0); err != nil || n != 10 {
		t.Errorf("TrimRequests(0) = %d, %v; want 10", n, err)
	}
	if c, _ := s.CountRequests(ctx, bin.ID); c != 0 {
		t.Errorf("after TrimRequests(0): %d left", c)
	}
	if c, _ := s.CountRequests(ctx, other.ID); c != 1 {
		t.Errorf("other bin holds %d, want 1", c)
	}
}

// ---- alerts ----------------------------------------------------------------

func testAlertRules(t *testing.T, s schema.Store) {
	ctx := t.Context()
	now := schema.Truncate(time.Now())
	bin := newBin(t, s)
	r1 := &schema.AlertRule{ID: uniqueID("rule"), BinID: bin.ID, Doc: json.RawMessage(`{"name":"bad signatures","kind":"signature_failures","params":{"window":"10s"}}`),
		CreatedAt: now.Add(2 * time.Second), UpdatedAt: now.Add(2 * time.Second)}
	r2 := &schema.AlertRule{ID: uniqueID("rule"), BinID: "", Doc: json.RawMessage(`{"name":"global ✓"}`),
		CreatedAt: now.Add(1 * time.Second), UpdatedAt: now.Add(3 * time.Second)}
	for _, r := range []*schema.AlertRule{r1, r2} {
		if err := s.PutRule(ctx, r); err != nil {
			t.Fatalf("PutRule: %v", err)
		}
	}
	checkRule := func(got, want *schema.AlertRule) {
		t.Helper()
		if got.ID != want.ID || got.BinID != want.BinID || !bytes.Equal(got.Doc, want.Doc) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("rule\n got %+v (%s)\nwant %+v (%s)", got, got.Doc, want, want.Doc)
		}
	}
	got, err := s.GetRule(ctx, r1.ID)
	if err != nil {
		t.Fatalf("GetRule: %v", err)
	}
	checkRule(got, r1)

	// Replace.
	r1b := *r1
	r1b.Doc = json.RawMessage(`{"name":"renamed"}`)
	r1b.UpdatedAt = now.Add(time.Minute)
	if err := s.PutRule(ctx, &r1b); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRule(ctx, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRule(got, &r1b)

	rules, err := s.ListRules(ctx)
	if err != nil {
		t.Fatalf("ListRules: %v", err)
	}
	var mine []string
	for i, r := range rules {
		if i > 0 && r.CreatedAt.Before(rules[i-1].CreatedAt) {
			t.Errorf("ListRules not ordered by CreatedAt at %d", i)
		}
		if r.ID == r1.ID || r.ID == r2.ID {
			mine = append(mine, r.ID)
		}
	}
	if want := []string{r2.ID, r1.ID}; !slices.Equal(mine, want) {
		t.Errorf("our rules in ListRules = %v, want %v (and exactly once each)", mine, want)
	}

	if err := s.DeleteRule(ctx, r1.ID); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	if _, err := s.GetRule(ctx, r1.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRule after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteRule(ctx, r1.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("DeleteRule twice = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRule(ctx, uniqueID("norule")); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRule(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRule(ctx, r2.ID); err != nil {
		t.Errorf("other rule gone: %v", err)
	}
}

func testAlertEvents(t *testing.T, s schema.Store) {
	ctx := t.Context()
	rule := &schema.AlertRule{ID: uniqueID("rule"), Doc: json.RawMessage(`{}`), CreatedAt: schema.Truncate(time.Now()), UpdatedAt: schema.Truncate(time.Now())}
	if err := s.PutRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	binA, binB := uniqueID("evbin"), uniqueID("evbin")
	var events []*schema.AlertEvent
	for i := range 15 {
		e := &schema.AlertEvent{ID: newV7(t), RuleID: rule.ID, BinID: []string{binA, binB}[i%2],
			State: []string{"firing", "resolved"}[i%2], At: baseTime().Add(time.Duration(i) * time.Second),
			Doc: json.RawMessage(fmt.Sprintf(`{"n":%d,"msg":"héllo"}`, i))}
		events = append(events, e)
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatalf("AppendEvent: %v", err)
		}
	}
	// Appending the same id again stores it once.
	if err := s.AppendEvent(ctx, events[3]); err != nil {
		t.Fatalf("AppendEvent twice: %v", err)
	}
	newest := slices.Clone(events)
	sort.Slice(newest, func(i, j int) bool { return bytes.Compare(newest[i].ID[:], newest[j].ID[:]) > 0 })
	eventIDs := func(es []*schema.AlertEvent) []uuid.UUID {
		out := make([]uuid.UUID, len(es))
		for i, e := range es {
			out[i] = e.ID
		}
		return out
	}
	listEvents := func(f schema.EventFilter) []*schema.AlertEvent {
		t.Helper()
		es, err := s.ListEvents(ctx, f)
		if err != nil {
			t.Fatalf("ListEvents(%+v): %v", f, err)
		}
		return es
	}
	got := listEvents(schema.EventFilter{RuleID: rule.ID})
	equalIDs(t, "by rule", eventIDs(got), eventIDs(newest))
	byID := map[uuid.UUID]*schema.AlertEvent{}
	for _, e := range events {
		byID[e.ID] = e
	}
	for _, g := range got {
		w := byID[g.ID]
		if w == nil || g.RuleID != w.RuleID || g.BinID != w.BinID || g.State != w.State || !g.At.Equal(w.At) ||
			g.At.Location() != time.UTC || !bytes.Equal(g.Doc, w.Doc) {
			t.Errorf("event %s\n got %+v (%s)\nwant %+v", g.ID, g, g.Doc, w)
		}
	}
	var wantB []*schema.AlertEvent
	for _, e := range newest {
		if e.BinID == binB {
			wantB = append(wantB, e)
		}
	}
	equalIDs(t, "by bin", eventIDs(listEvents(schema.EventFilter{BinID: binB})), eventIDs(wantB))
	equalIDs(t, "by rule and bin", eventIDs(listEvents(schema.EventFilter{RuleID: rule.ID, BinID: binB})), eventIDs(wantB))
	equalIDs(t, "other rule", eventIDs(listEvents(schema.EventFilter{RuleID: uniqueID("norule")})), nil)

	// Before paging: no duplicates, no gaps.
	var paged []*schema.AlertEvent
	f := schema.EventFilter{RuleID: rule.ID, Limit: 4}
	for range 10 {
		page := listEvents(f)
		if len(page) > 4 {
			t.Fatalf("page of %d with limit 4", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		f.Before = &page[len(page)-1].ID
	}
	equalIDs(t, "paged", eventIDs(paged), eventIDs(newest))

	// Events outlive their rule.
	if err := s.DeleteRule(ctx, rule.ID); err != nil {
		t.Fatal(err)
	}
	if got := listEvents(schema.EventFilter{RuleID: rule.ID}); len(got) != 15 {
		t.Errorf("after DeleteRule: %d events, want 15", len(got))
	}

	// Limit 0 means 100.
	many := uniqueID("rule")
	var batch []*schema.AlertEvent
	for range 105 {
		e := &schema.AlertEvent{ID: newV7(t), RuleID: many, State: "firing", At: baseTime()}
		batch = append(batch, e)
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := listEvents(schema.EventFilter{RuleID: many}); len(got) != 100 {
		t.Errorf("default limit: %d events, want 100", len(got))
	}
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
