package sqlite

import (
	"fmt"
	"strings"
	"testing"
)

// ListBinsPage walks bins_created backwards from the cursor: no sort of
// the bins, no scan of the table, with or without a name search; a page
// after a cursor starts its index search at the cursor.
func TestListBinsPagePlan(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	for _, tc := range []struct {
		conds, want string
		args        []any
	}{
		{"", "SCAN bins USING INDEX bins_created", []any{int64(1), 51}},
		{binsNameCond, "SCAN bins USING INDEX bins_created", []any{int64(1), "x", 51}},
		{binsBeforeCond, "SEARCH bins USING INDEX bins_created ((created_at,id)<(?,?))", []any{int64(1), int64(2), "b", 51}},
		{binsBeforeCond + binsNameCond, "SEARCH bins USING INDEX bins_created ((created_at,id)<(?,?))", []any{int64(1), int64(2), "b", "x", 51}},
	} {
		plan := queryPlan(t, s, fmt.Sprintf(listBinsPageSQL, tc.conds), tc.args...)
		if !strings.Contains(plan, tc.want) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("conditions %q: plan %q; want %q, no sort", tc.conds, plan, tc.want)
		}
	}
}
