package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// binsTests are the cases of schema.Bins.
var binsTests = []testCase{
	{"Bins", testBins},
	{"ListBins", testListBins},
	{"ListBinsPage", testListBinsPage},
	{"ListBinsPageNoQuery", testListBinsPageNoQuery},
	{"DeleteBin", testDeleteBin},
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
