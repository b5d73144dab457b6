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
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// testCase is one sub-test of the suite; each file holds the cases of one
// interface of schema.Store.
type testCase struct {
	name string
	fn   func(t *testing.T, s schema.Store)
}

// Run runs the whole suite. newStore is called once per sub-test; it must
// return a ready store and register its own cleanup (t.Cleanup) — the suite
// never calls Close, so a constructor may hand out one shared store.
func Run(t *testing.T, newStore func(t *testing.T) schema.Store) {
	var tests []testCase
	for _, group := range [][]testCase{writerTests, forwardTests, readerTests, searchTests, statsTests, binsTests, retentionTests, deleterTests, alertsTests, replayTests, concurrencyTests} {
		tests = append(tests, group...)
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
	case got.Forward != nil && !forwardEqual(got.Forward, want.Forward):
		errorf("Forward", *got.Forward, *want.Forward)
	}
	if got.RefusedReason != want.RefusedReason {
		errorf("RefusedReason", got.RefusedReason, want.RefusedReason)
	}
	if !reflect.DeepEqual(got.Redacted, want.Redacted) {
		errorf("Redacted", got.Redacted, want.Redacted)
	}
}

func preview(b []byte) []byte {
	if len(b) > schema.PreviewBytes {
		return b[:schema.PreviewBytes]
	}
	return b
}

func ptr[T any](v T) *T { return &v }
