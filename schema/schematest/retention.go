package schematest

import (
	"errors"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// retentionTests are the cases of schema.Retention.
var retentionTests = []testCase{
	{"DeleteRequests", testDeleteRequests},
	{"PurgeExpired", testPurgeExpired},
	{"TrimRequests", testTrimRequests},
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
