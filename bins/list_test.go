package bins

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

// pagedOnly is the real store with its bin reads counted, and ListBins
// (every bin at once) refused: List must page in the store.
type pagedOnly struct {
	*sqlite.Store
	pages   int
	largest int
}

func (p *pagedOnly) ListBins(context.Context) ([]*schema.Bin, error) {
	return nil, errors.New("ListBins loads every bin: List must not call it")
}

func (p *pagedOnly) ListBinsPage(ctx context.Context, q schema.BinListQuery) (schema.BinPage, error) {
	page, err := p.Store.ListBinsPage(ctx, q)
	p.pages++
	p.largest = max(p.largest, len(page.Bins))
	return page, err
}

// TestListPagesInTheStore: the admin list of 1 000 bins (some expired,
// some not matching the search) walked through the API's cursor string
// gives every live matching bin once, newest first (ties on created_at
// broken by id), with one store page read per page and never the whole
// table.
func TestListPagesInTheStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	store := &pagedOnly{Store: st}
	svc := New(store, &invalidations{}, Options{Now: func() time.Time { return now }})
	var want []*schema.Bin
	for i := 0; i < 1000; i++ {
		b := &schema.Bin{ID: fmt.Sprintf("bin%04d", i), Name: fmt.Sprintf("Hook %d", i), CreatedAt: now.Add(-time.Duration(i/3) * time.Second)}
		if i%10 == 0 {
			b.Name = fmt.Sprintf("other %d", i)
		}
		if i%7 == 0 {
			b.ExpiresAt = ptr(now.Add(-time.Minute))
		}
		if err := st.CreateBin(ctx, b); err != nil {
			t.Fatal(err)
		}
		if i%10 != 0 && i%7 != 0 {
			want = append(want, b)
		}
	}
	SortNewest(want)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not terminate")
		}
		q := ListQuery{Q: "hOOK", Limit: 37}
		if cursor != "" {
			if q.Cursor, err = ParseListCursor(cursor); err != nil {
				t.Fatal(err)
			}
		}
		page, next, err := svc.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page {
			got = append(got, b.ID)
		}
		if next == nil {
			break
		}
		cursor = next.String()
	}
	wantIDs := make([]string, len(want))
	for i, b := range want {
		wantIDs[i] = b.ID
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("listed %d bins, want %d; first %v, want %v", len(got), len(wantIDs), got[:min(5, len(got))], wantIDs[:5])
	}
	if wantPages := (len(want) + 36) / 37; store.pages != wantPages || store.largest > 37 {
		t.Errorf("%d store pages (largest %d bins) for %d bins; want %d pages of at most 37", store.pages, store.largest, len(want), wantPages)
	}
}
