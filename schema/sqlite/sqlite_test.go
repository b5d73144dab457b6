package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/schematest"
)

func openTemp(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(dir, "hookscope.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	schematest.Run(t, func(t *testing.T) schema.Store {
		s := openTemp(t, t.TempDir())
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openTemp(t, dir)
	now := schema.Truncate(time.Now())
	bin := &schema.Bin{ID: "reopen", Name: "r", CreatedAt: now}
	if err := s.CreateBin(ctx, bin); err != nil {
		t.Fatal(err)
	}
	lag := int64(7)
	r := &schema.Request{ID: mustV7(t), BinID: bin.ID, ReceivedAt: now, Method: "POST", Path: "/x",
		Headers: []schema.Header{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}},
		Body:    []byte{0, 1, 0xff}, BodySize: 3, DeliveryLagMS: &lag, ResponseStatus: 200,
		Signature: schema.Signature{Status: schema.SigValid}}
	if err := s.WriteRequests(ctx, []*schema.Request{r}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, dir) // migrations run again: must be a no-op
	defer s.Close()
	if _, err := s.GetBin(ctx, bin.ID); err != nil {
		t.Fatalf("bin lost across reopen: %v", err)
	}
	got, err := s.GetRequest(ctx, bin.ID, r.ID)
	if err != nil {
		t.Fatalf("request lost across reopen: %v", err)
	}
	if string(got.Body) != string(r.Body) || len(got.Headers) != 2 || *got.DeliveryLagMS != 7 {
		t.Errorf("request changed across reopen: %+v", got)
	}
	var n, maxV int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != ms[len(ms)-1].version {
		t.Errorf("schema_migrations holds %d rows up to %d, want %d up to %d", n, maxV, len(ms), ms[len(ms)-1].version)
	}
	var mode string
	if err := s.r.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var pageSize, syncMode int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil || pageSize != 32768 {
		t.Errorf("page_size = %d, %v; want 32768", pageSize, err)
	}
	if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&syncMode); err != nil || syncMode != 1 {
		t.Errorf("synchronous = %d, %v; want 1 (NORMAL)", syncMode, err)
	}
}

// TestQueryPlans pins the index use of the hot queries.
func TestQueryPlans(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	f := schema.Filter{BinID: "b", Before: &schema.Cursor{ReceivedAt: time.Now()}}
	where, args := whereFilter(&f)
	where += " AND (received_at, id) < (?, ?)"
	args = append(args, int64(1), []byte{1})
	q := `EXPLAIN QUERY PLAN SELECT ` + requestCols + ` FROM requests WHERE ` + where + ` ORDER BY received_at DESC, id DESC LIMIT 51`
	rows, err := s.r.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "\n"
	}
	t.Logf("plan:\n%s", plan)
	if want := "SEARCH requests USING INDEX requests_bin_time (bin_id=? AND (received_at,id)<(?,?))"; !strings.Contains(plan, want) {
		t.Errorf("newest page plan = %q, want %q", plan, want)
	}
	if strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("newest page sorts: %q", plan)
	}
}
