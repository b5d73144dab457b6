package sqlite

import (
	"strings"
	"testing"
)

// GetRequests, like GetRequest, must search requests_bin_time by the ids'
// time ranges, one index search per range, never scan the table; the
// bin-wide fallback stays on the bin's part of the index.
func TestGetRequestsPlan(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	const search = "SEARCH requests USING INDEX requests_bin_time (bin_id=? AND received_at>? AND received_at<?)"
	for _, tc := range []struct{ windows, ids, searches int }{{1, 1, 1}, {1, 256, 1}, {3, 10, 3}, {256, 256, 256}} {
		var args []any
		for i := 0; i < tc.windows; i++ {
			args = append(args, "b", int64(2*i), int64(2*i+1))
		}
		for i := 0; i < tc.ids; i++ {
			args = append(args, []byte{byte(i)})
		}
		plan := queryPlan(t, s, getRequestsSQLFor(tc.windows, tc.ids), args...)
		if n := strings.Count(plan, search); n != tc.searches || strings.Contains(plan, "SCAN") {
			t.Errorf("%d ranges, %d ids: plan %q; want %d times %q", tc.windows, tc.ids, plan, tc.searches, search)
		}
	}
	plan := queryPlan(t, s, getRequestsSQLFor(0, 3), "b", []byte{1}, []byte{2}, []byte{3})
	if want := "SEARCH requests USING INDEX requests_bin_time (bin_id=?)"; !strings.Contains(plan, want) {
		t.Errorf("bin-wide plan %q; want %q", plan, want)
	}
}
