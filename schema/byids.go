package schema

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// TimeRange is the half-open interval [From, To).
type TimeRange struct{ From, To time.Time }

// IDWindows narrows a lookup of several ids by the times their UUIDv7s
// carry: the ranges [t-pad, t+pad) around each, merged where they overlap,
// in ascending order, and the ids that carry no time (not UUIDv7), which a
// store must look for without a time bound. Each range is as narrow as
// GetRequest's window for one id; merging keeps the count (and the query
// text) at most len(ids) and a dense page of ids one range.
func IDWindows(ids []uuid.UUID, pad time.Duration) (windows []TimeRange, timeless []uuid.UUID) {
	times := make([]time.Time, 0, len(ids))
	for _, id := range ids {
		if t, ok := IDTime(id); ok {
			times = append(times, t)
		} else {
			timeless = append(timeless, id)
		}
	}
	slices.SortFunc(times, time.Time.Compare)
	for _, t := range times {
		from, to := t.Add(-pad), t.Add(pad)
		if n := len(windows); n > 0 && !from.After(windows[n-1].To) {
			windows[n-1].To = to
			continue
		}
		windows = append(windows, TimeRange{From: from, To: to})
	}
	return windows, timeless
}

// UniqueIDs returns ids without repeats, in first-seen order (a new slice).
func UniqueIDs(ids []uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]struct{}, len(ids))
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// FindFunc reads the requests of ids received within windows (nil: anywhere
// in the bin) into found, keyed by id.
type FindFunc func(windows []TimeRange, ids []uuid.UUID, found map[uuid.UUID]*Request) error

// FindByIDs is Reader.GetRequests in terms of one store query, find: it
// checks the bound, drops repeated ids, reads the ids within IDWindows(ids,
// pad) (pad: the store's GetRequest window), then the ids not found there
// (and those without a time) once more bin-wide, and returns what it found
// in the order of ids. A store calls find once when every id is found in
// its window.
func FindByIDs(ids []uuid.UUID, pad time.Duration, find FindFunc) ([]*Request, error) {
	if len(ids) > MaxGetRequests {
		return nil, fmt.Errorf("get requests: %w: %d ids, at most %d", ErrInvalid, len(ids), MaxGetRequests)
	}
	ids = UniqueIDs(ids)
	found := make(map[uuid.UUID]*Request, len(ids))
	windows, missing := IDWindows(ids, pad)
	if len(windows) > 0 {
		if err := find(windows, ids, found); err != nil {
			return nil, err
		}
		missing = missing[:0:0]
		for _, id := range ids {
			if found[id] == nil {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) > 0 {
		if err := find(nil, missing, found); err != nil {
			return nil, err
		}
	}
	out := make([]*Request, 0, len(found))
	for _, id := range ids {
		if r := found[id]; r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}
