package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

// TestResolveChains: chains span batches (looked up in the store) and run
// inside one batch; a stated attempt is kept; a batch resolved again (a
// retried write, a redelivery after a crash) gets the same answer.
func TestResolveChains(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateBin(ctx, &schema.Bin{ID: "b", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	mk := func(i int, delivery string, attempt int) *schema.Request {
		id, _ := uuid.NewV7()
		return &schema.Request{ID: id, BinID: "b", ReceivedAt: at.Add(time.Duration(i) * time.Second), Method: "POST", Path: "/",
			DeliveryID: delivery, Attempt: attempt, Signature: schema.Signature{Status: schema.SigUnchecked}}
	}
	first := []*schema.Request{mk(0, "d", 0), mk(1, "e", 0), mk(2, "", 0)}
	if err := resolveChains(ctx, st, first); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteRequests(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := []*schema.Request{mk(3, "d", 0), mk(4, "d", 7), mk(5, "d", 0), mk(6, "e", 0)}
	stated := []int{0, 7, 0, 0}
	for range 2 { // the second pass is a retried batch: same answer
		for i, r := range second {
			r.DuplicateOf, r.Attempt = nil, stated[i]
		}
		if err := resolveChains(ctx, st, second); err != nil {
			t.Fatal(err)
		}
		want := []struct {
			dup     uuid.UUID
			attempt int
		}{{first[0].ID, 2}, {first[0].ID, 7}, {first[0].ID, 4}, {first[1].ID, 2}}
		for i, w := range want {
			r := second[i]
			if r.DuplicateOf == nil || *r.DuplicateOf != w.dup || r.Attempt != w.attempt {
				t.Errorf("request %d: duplicate_of %v attempt %d, want %s %d", i, r.DuplicateOf, r.Attempt, w.dup, w.attempt)
			}
		}
	}
	if first[0].DuplicateOf != nil || first[0].Attempt != 1 || first[2].Attempt != 0 || first[2].DuplicateOf != nil {
		t.Errorf("first batch: %+v %+v", first[0], first[2])
	}
	// A failing lookup changes nothing: the writer retries the batch.
	third := []*schema.Request{mk(7, "d", 0)}
	if err := resolveChains(ctx, failingReader{}, third); err == nil || third[0].DuplicateOf != nil || third[0].Attempt != 0 {
		t.Errorf("failed lookup: err %v, request %+v", err, third[0])
	}
}

type failingReader struct{}

func (failingReader) ListRequests(_ context.Context, f schema.Filter) (schema.Page, error) {
	return schema.Page{}, errors.New("store down")
}
