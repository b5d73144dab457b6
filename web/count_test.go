package web_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// The count route answers the list's filters with an exact total, states
// its cap past 10 000 filtered matches, and stays exact without filters.
func TestCountRequests(t *testing.T) {
	h := startHookscope(t, t.TempDir(), io.Discard)
	bin := h.call(t, "POST", "/api/v1/bins", map[string]any{}, 201)["id"].(string)
	base := time.Now().UTC().Add(-time.Hour)
	var reqs []*schema.Request
	for i := range 10_050 {
		m := "POST"
		if i%3 == 0 {
			m = "GET"
		}
		reqs = append(reqs, &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: bin, ReceivedAt: schema.Truncate(base.Add(time.Duration(i) * time.Millisecond)),
			Method: m, Path: fmt.Sprintf("/n/%d", i), RemoteIP: "127.0.0.1", ResponseStatus: 200})
	}
	// Five records of replays (issue 20: left out with replays=exclude).
	for i := range 5 {
		reqs = append(reqs, &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: bin, ReceivedAt: schema.Truncate(base.Add(time.Minute + time.Duration(i)*time.Millisecond)),
			Method: "PUT", Path: "/replayed", RemoteIP: "127.0.0.1", ResponseStatus: 502, Forward: &schema.Forward{Mode: "replay", Error: "refused"}})
	}
	if err := h.store.WriteRequests(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query  string
		count  float64
		capped bool
	}{
		{"", 10_055, false},
		{"?replays=exclude", 10_050, false}, // exact past the cap: the total less the replays
		{"?replays=only", 5, false},
		{"?method=GET", 3_350, false},
		{"?method=POST", 6_700, false},
		{"?status=2xx", 10_000, true}, // all 10 050 match: past the cap
		{"?q=/n/1004", 11, false},     // /n/1004 and /n/10040 … /n/10049
		{"?method=PUT", 5, false},
		{"?method=PUT&replays=exclude", 0, false},
	} {
		got := h.call(t, "GET", "/api/v1/bins/"+bin+"/requests/count"+tc.query, nil, 200)
		if got["count"] != tc.count || got["capped"] != tc.capped || got["cap"] != float64(10_000) {
			t.Errorf("count%s = %v, want count %v capped %v cap 10000", tc.query, got, tc.count, tc.capped)
		}
	}
	h.call(t, "GET", "/api/v1/bins/"+bin+"/requests/count?status=abc", nil, 400)
	h.call(t, "GET", "/api/v1/bins/"+bin+"/requests/count?limit=5", nil, 400) // no paging here
	h.call(t, "GET", "/api/v1/bins/nope-nope/requests/count", nil, 404)
}
