package schematest

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// testListBinsPage: a page of bins comes from the store in (CreatedAt, ID)
// descending order, after the cursor, live at Now only, matching the name
// search as it stands after updates (never an older version of a bin), and
// Next is nil exactly on the last page. The suite shares its database, so
// every bin's name carries a tag only this test uses, and the queries
// search for it.
func testListBinsPage(t *testing.T, s schema.Store) {
	ctx := t.Context()
	tag := uniqueID("tg")
	now := schema.Truncate(time.Now())
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	type spec struct {
		name    string
		created time.Duration // from now
		expires *time.Time
		live    bool // listed (when the name matches)
	}
	var all []*schema.Bin
	create := func(sp spec) *schema.Bin {
		t.Helper()
		b := &schema.Bin{ID: uniqueID("pg"), Name: sp.name, CreatedAt: now.Add(sp.created), ExpiresAt: sp.expires}
		if err := s.CreateBin(ctx, b); err != nil {
			t.Fatalf("CreateBin: %v", err)
		}
		all = append(all, b)
		return b
	}
	update := func(b *schema.Bin) {
		t.Helper()
		if err := s.UpdateBin(ctx, b); err != nil {
			t.Fatalf("UpdateBin: %v", err)
		}
	}
	listed := map[string]bool{}
	for _, sp := range []spec{
		{name: "a " + tag, created: -5 * time.Second, live: true},
		{name: "b " + strings.ToUpper(tag), created: -5 * time.Second, live: true}, // same time: the id orders
		{name: "c " + tag, created: -5 * time.Second, live: true},
		{name: "d " + tag + " a%b_c", created: -4 * time.Second, live: true},
		{name: "e " + tag, created: -3 * time.Second, expires: &future, live: true},
		{name: "f " + tag, created: -2 * time.Second, expires: &past},    // expired
		{name: "g " + tag, created: -2 * time.Second, expires: &now},     // expires at Now: expired
		{name: "h " + tag + " É", created: -1 * time.Second, live: true}, // non-ASCII kept as is
		{name: "i untagged", created: -1 * time.Second},                  // name does not match
		{name: "j " + tag, created: -6 * time.Second, live: true},
		{name: "k " + tag, created: -7 * time.Second, live: true},
	} {
		b := create(sp)
		listed[b.ID] = sp.live
	}
	// Changed after creation: what counts is the bin as it stands now.
	renamedIn := create(spec{name: "untagged at first", created: -8 * time.Second})
	renamedIn.Name = "l " + tag
	update(renamedIn)
	listed[renamedIn.ID] = true
	renamedOut := create(spec{name: "m " + tag, created: -8 * time.Second})
	renamedOut.Name = "no longer tagged"
	update(renamedOut)
	revived := create(spec{name: "n " + tag, created: -9 * time.Second, expires: &past})
	revived.ExpiresAt = nil
	update(revived)
	listed[revived.ID] = true
	expiredLater := create(spec{name: "o " + tag, created: -9 * time.Second})
	expiredLater.ExpiresAt = &past
	update(expiredLater)
	deleted := create(spec{name: "p " + tag, created: -9 * time.Second})
	if err := s.DeleteBin(ctx, deleted.ID); err != nil {
		t.Fatalf("DeleteBin: %v", err)
	}
	// A deleted id created again, later: listed once, as the new bin.
	again := create(spec{name: "q " + tag, created: -10 * time.Second})
	if err := s.DeleteBin(ctx, again.ID); err != nil {
		t.Fatalf("DeleteBin: %v", err)
	}
	again = &schema.Bin{ID: again.ID, Name: "r " + tag, CreatedAt: now.Add(-500 * time.Millisecond)}
	if err := s.CreateBin(ctx, again); err != nil {
		t.Fatalf("CreateBin again: %v", err)
	}
	all = append(all, again)
	listed[again.ID] = true

	var want []*schema.Bin
	seen := map[string]bool{}
	for i := len(all) - 1; i >= 0; i-- { // the last version of each id
		if b := all[i]; !seen[b.ID] {
			seen[b.ID] = true
			if listed[b.ID] {
				want = append(want, b)
			}
		}
	}
	slices.SortFunc(want, func(a, b *schema.Bin) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})

	walk := func(q schema.BinListQuery) []*schema.Bin {
		t.Helper()
		var got []*schema.Bin
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("paging does not terminate")
			}
			p, err := s.ListBinsPage(ctx, q)
			if err != nil {
				t.Fatalf("ListBinsPage(%+v): %v", q, err)
			}
			if q.Limit > 0 && len(p.Bins) > q.Limit {
				t.Fatalf("page of %d bins with limit %d", len(p.Bins), q.Limit)
			}
			got = append(got, p.Bins...)
			if p.Next == nil {
				return got
			}
			if len(p.Bins) == 0 || *p.Next != *schema.BinCursorOf(p.Bins[len(p.Bins)-1]) {
				t.Fatalf("Next %+v is not the page's last bin", p.Next)
			}
			q.Before = p.Next
		}
	}
	binIDs := func(bs []*schema.Bin) []string {
		out := make([]string, len(bs))
		for i, b := range bs {
			out[i] = b.ID
		}
		return out
	}
	for _, limit := range []int{1, 2, 3, len(want), len(want) + 1, 0} {
		// The tag in upper case: ASCII letters fold.
		got := walk(schema.BinListQuery{Q: strings.ToUpper(tag), Now: now, Limit: limit})
		if g, w := binIDs(got), binIDs(want); !slices.Equal(g, w) {
			t.Fatalf("limit %d: bins\n got %v\nwant %v", limit, g, w)
		}
		for i := range got {
			checkBin(t, got[i], want[i])
		}
	}
	// Next is nil exactly on the last page: a full last page says so.
	if p, err := s.ListBinsPage(ctx, schema.BinListQuery{Q: tag, Now: now, Limit: len(want)}); err != nil || len(p.Bins) != len(want) || p.Next != nil {
		t.Errorf("one full page: %d bins, Next %+v, %v; want %d, nil", len(p.Bins), p.Next, err, len(want))
	}
	// The search: no wildcards, ASCII folding only.
	for q, wantN := range map[string]int{
		tag + " A%B_C": 1, tag + " a%b": 1, tag + " a_b": 0, tag + " É": 1, tag + " é": 0, "untagged at first": 0,
	} {
		p, err := s.ListBinsPage(ctx, schema.BinListQuery{Q: q, Now: now})
		if err != nil || len(p.Bins) != wantN {
			t.Errorf("q %q: %d bins, %v; want %d", q, len(p.Bins), err, wantN)
		}
	}
	// Now decides expiry: the bin listed above that expires at future
	// is left out from then on.
	if p, err := s.ListBinsPage(ctx, schema.BinListQuery{Q: tag, Now: future}); err != nil || slices.Contains(binIDs(p.Bins), all[4].ID) {
		t.Errorf("at its expiry: bins %v, %v; want %s left out", binIDs(p.Bins), err, all[4].ID)
	}
	// A cursor at a bin deleted since still pages on from its position.
	cut := want[3]
	if err := s.DeleteBin(ctx, cut.ID); err != nil {
		t.Fatalf("DeleteBin: %v", err)
	}
	got := walk(schema.BinListQuery{Q: tag, Now: now, Before: schema.BinCursorOf(cut), Limit: 2})
	if g, w := binIDs(got), binIDs(want[4:]); !slices.Equal(g, w) {
		t.Errorf("after a deleted cursor: %v, want %v", g, w)
	}
}

// testListBinsPageNoQuery: without a name search the page holds every
// bin, and Next says an older one follows. The bins are created at a
// random far-future time, so the page before a cursor just after them is
// theirs alone in a shared database.
func testListBinsPageNoQuery(t *testing.T, s schema.Store) {
	ctx := t.Context()
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(binary.BigEndian.Uint32(r[:])) * time.Second)
	var mine []*schema.Bin
	older := &schema.Bin{ID: uniqueID("np"), Name: "any", CreatedAt: base.Add(-time.Second)}
	if err := s.CreateBin(ctx, older); err != nil {
		t.Fatalf("CreateBin: %v", err)
	}
	for i := 0; i < 3; i++ {
		b := &schema.Bin{ID: uniqueID("np"), Name: "any", CreatedAt: base.Add(time.Duration(i) * time.Microsecond)}
		if err := s.CreateBin(ctx, b); err != nil {
			t.Fatalf("CreateBin: %v", err)
		}
		mine = append(mine, b)
	}
	now := schema.Truncate(time.Now())
	p, err := s.ListBinsPage(ctx, schema.BinListQuery{Now: now, Before: &schema.BinCursor{CreatedAt: base.Add(time.Second)}, Limit: 3})
	if err != nil {
		t.Fatalf("ListBinsPage: %v", err)
	}
	if len(p.Bins) != 3 || p.Bins[0].ID != mine[2].ID || p.Bins[1].ID != mine[1].ID || p.Bins[2].ID != mine[0].ID {
		t.Fatalf("page %v; want %s %s %s", p.Bins, mine[2].ID, mine[1].ID, mine[0].ID)
	}
	if p.Next == nil || *p.Next != *schema.BinCursorOf(mine[0]) {
		t.Errorf("Next %+v; want the position of %s (older bins follow)", p.Next, mine[0].ID)
	}
	// The limit is clamped, not refused.
	if p, err := s.ListBinsPage(ctx, schema.BinListQuery{Now: now, Limit: schema.MaxBinPage + 1}); err != nil || len(p.Bins) > schema.MaxBinPage {
		t.Errorf("limit over the maximum: %d bins, %v", len(p.Bins), err)
	}
}
