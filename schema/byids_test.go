package schema

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// v7At is a UUIDv7 carrying t's millisecond.
func v7At(t time.Time) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for k := 0; k < 6; k++ {
		id[k] = byte(ms >> (40 - 8*k))
	}
	return id
}

func TestIDWindows(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	v4 := uuid.New()
	for _, tc := range []struct {
		name     string
		ids      []uuid.UUID
		want     []TimeRange
		timeless []uuid.UUID
	}{
		{"none", nil, nil, nil},
		{"one", []uuid.UUID{v7At(at(0))}, []TimeRange{{at(-2), at(2)}}, nil},
		{"overlapping merge, out of order", []uuid.UUID{v7At(at(3)), v7At(at(0)), v7At(at(1))}, []TimeRange{{at(-2), at(5)}}, nil},
		{"touching merge", []uuid.UUID{v7At(at(0)), v7At(at(4))}, []TimeRange{{at(-2), at(6)}}, nil},
		{"apart stay apart", []uuid.UUID{v7At(at(0)), v7At(at(100)), v7At(at(4.5))}, []TimeRange{{at(-2), at(2)}, {at(2.5), at(6.5)}, {at(98), at(102)}}, nil},
		{"not v7 has no time", []uuid.UUID{v4, v7At(at(0))}, []TimeRange{{at(-2), at(2)}}, []uuid.UUID{v4}},
	} {
		w, tl := IDWindows(tc.ids, 2*time.Second)
		if !slices.Equal(w, tc.want) || !slices.Equal(tl, tc.timeless) {
			t.Errorf("%s: IDWindows = %v, %v; want %v, %v", tc.name, w, tl, tc.want, tc.timeless)
		}
	}
}

// TestFindByIDs: one find for ids found in their windows, a second,
// bin-wide, only for the rest; the order of ids, each once; the bound.
func TestFindByIDs(t *testing.T) {
	t0 := time.Now()
	inWindow, elsewhere, absent, v4 := v7At(t0), v7At(t0.Add(-time.Hour)), v7At(t0.Add(time.Minute)), uuid.New()
	stored := map[uuid.UUID]time.Time{inWindow: t0, elsewhere: t0.Add(-48 * time.Hour), v4: t0}
	var calls []int // windows per call
	find := func(windows []TimeRange, ids []uuid.UUID, found map[uuid.UUID]*Request) error {
		calls = append(calls, len(windows))
		for _, id := range ids {
			at, ok := stored[id]
			if !ok {
				continue
			}
			in := windows == nil
			for _, w := range windows {
				in = in || (!at.Before(w.From) && at.Before(w.To))
			}
			if in {
				found[id] = &Request{ID: id}
			}
		}
		return nil
	}
	got, err := FindByIDs([]uuid.UUID{v4, inWindow, absent, elsewhere, inWindow}, 2*time.Second, find)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []uuid.UUID
	for _, r := range got {
		gotIDs = append(gotIDs, r.ID)
	}
	if want := []uuid.UUID{v4, inWindow, elsewhere}; !slices.Equal(gotIDs, want) || !slices.Equal(calls, []int{3, 0}) {
		t.Errorf("FindByIDs = %v with finds of %v windows; want %v with [3 0]", gotIDs, calls, want)
	}
	calls = nil
	if _, err := FindByIDs([]uuid.UUID{inWindow}, 2*time.Second, find); err != nil || !slices.Equal(calls, []int{1}) {
		t.Errorf("all found in their window: finds %v, %v; want one", calls, err)
	}
	if _, err := FindByIDs(make([]uuid.UUID, MaxGetRequests+1), 0, find); !errors.Is(err, ErrInvalid) {
		t.Errorf("over the bound: %v", err)
	}
}
