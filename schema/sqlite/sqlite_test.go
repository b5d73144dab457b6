package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

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
	ms, err := schema.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != ms[len(ms)-1].Version {
		t.Errorf("schema_migrations holds %d rows up to %d, want %d up to %d", n, maxV, len(ms), ms[len(ms)-1].Version)
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
	where, args, err := whereFilter(&f)
	if err != nil {
		t.Fatal(err)
	}
	where += " AND (received_at, id) < (?, ?)"
	args = append(args, int64(1), []byte{1})
	plan := queryPlan(t, s, `SELECT `+requestCols+` FROM requests WHERE `+where+` ORDER BY received_at DESC, id DESC LIMIT 51`, args...)
	t.Logf("plan:\n%s", plan)
	if want := "SEARCH requests USING INDEX requests_bin_time (bin_id=? AND (received_at,id)<(?,?))"; !strings.Contains(plan, want) {
		t.Errorf("newest page plan = %q, want %q", plan, want)
	}
	if strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("newest page sorts: %q", plan)
	}
}

// queryPlan is the EXPLAIN QUERY PLAN of q, one detail line per step.
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+q, args...)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// GetRequest has no index on id alone (migration 0002): the lookup must be
// an index search on requests_bin_time, bounded by the id's time window.
func TestGetRequestPlan(t *testing.T) {
	s := openTemp(t, t.TempDir())
	defer s.Close()
	plan := queryPlan(t, s, getRequestSQL, "b", int64(1), int64(2), []byte{1})
	if want := "SEARCH requests USING INDEX requests_bin_time (bin_id=? AND received_at>? AND received_at<?)"; !strings.Contains(plan, want) {
		t.Errorf("GetRequest plan = %q, want %q", plan, want)
	}
}

// A database created before migration 0002 (three B-trees per row) keeps its
// rows: they are found by id afterwards, old and new ids alike, and a
// retried write of an old row is still a no-op.
func TestMigration0002KeepsRows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hookscope.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	init1, err := migrationFS.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(string(init1)); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(createMigrationsSQL); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	// One row as the old schema stored it: a v4 id (no time in it) and a
	// v7 id minted long before its received_at.
	v4 := uuid.New()
	v7, _ := uuid.NewV7()
	at := time.Now().Add(-48 * time.Hour).UnixMicro()
	for _, id := range []uuid.UUID{v4, v7} {
		if _, err := old.Exec(`INSERT INTO requests (id, bin_id, received_at, method, path, query, headers, remote_ip,
			content_type, body_size, body_truncated, response_status, latency_us, sig_scheme, sig_status, sig_reason, body)
			VALUES (?, 'b', ?, 'POST', '/', '', x'', '192.0.2.1', '', 2, 0, 200, 5, '', 'none', '', x'6869')`, id[:], at); err != nil {
			t.Fatal(err)
		}
		at++
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTemp(t, dir)
	defer s.Close()
	for _, id := range []uuid.UUID{v4, v7} {
		r, err := s.GetRequest(t.Context(), "b", id)
		if err != nil || string(r.Body) != "hi" {
			t.Fatalf("GetRequest(%s) after migration = %+v, %v", id, r, err)
		}
		if err := s.WriteRequests(t.Context(), []*schema.Request{r}); err != nil {
			t.Fatalf("rewrite old row: %v", err)
		}
	}
	if _, err := s.GetRequest(t.Context(), "b", uuid.New()); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRequest(unknown) = %v, want ErrNotFound", err)
	}
	if n, err := s.CountRequests(t.Context(), "b"); err != nil || n != 2 {
		t.Errorf("CountRequests = %d, %v; want 2", n, err)
	}
	var idx int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'requests_id'`).Scan(&idx); err != nil || idx != 0 {
		t.Errorf("requests_id still exists (%d, %v)", idx, err)
	}
}

// TestWriteRequestsChunks: a batch longer than insertChunk goes through the
// multi-row statement and the single-row one for the rest; every row keeps
// each of its fields (its own headers, not a neighbour's), and a duplicate
// id, within the batch or already stored, is stored once.
func TestWriteRequestsChunks(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, t.TempDir())
	defer s.Close()
	now := schema.Truncate(time.Now())
	if err := s.CreateBin(ctx, &schema.Bin{ID: "chunks", Name: "c", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	n := 2*insertChunk + 7
	reqs := make([]*schema.Request, n)
	for i := range reqs {
		r := &schema.Request{ID: mustV7(t), BinID: "chunks", ReceivedAt: now.Add(time.Duration(i) * time.Microsecond),
			Method: "POST", Path: fmt.Sprintf("/p/%d", i), Query: fmt.Sprintf("i=%d", i),
			Headers:  []schema.Header{{Name: "X-Row", Value: fmt.Sprint(i)}, {Name: "X-Pad", Value: strings.Repeat("h", i)}},
			RemoteIP: "192.0.2.1", ContentType: "text/plain", Body: []byte(fmt.Sprintf("body %d", i)), BodySize: int64(6 + i),
			ResponseStatus: 200 + i, LatencyUS: int64(i), Signature: schema.Signature{Scheme: "s", Status: schema.SigValid, Reason: fmt.Sprint(i)},
			EventType: fmt.Sprintf("e%d", i), DeliveryID: fmt.Sprintf("d%d", i), Attempt: i % 3}
		switch i % 4 {
		case 1:
			lag := int64(-i)
			r.DeliveryLagMS = &lag
			r.Forward = &schema.Forward{URL: "http://x.test", Mode: "async", Status: 502, Error: fmt.Sprint(i)}
		case 2:
			r.Headers, r.Body = nil, nil
			r.RefusedReason = fmt.Sprintf("refused %d", i)
			r.Redacted = &schema.Redaction{Headers: []string{"X-Row"}, BodyPaths: []string{fmt.Sprintf("$.p%d", i)}}
		case 3:
			r.DuplicateOf = &reqs[0].ID
		}
		reqs[i] = r
	}
	// A duplicate inside the first chunk, then the whole batch again.
	batch := append([]*schema.Request{}, reqs[:5]...)
	batch = append(batch, reqs[3])
	batch = append(batch, reqs[5:]...)
	for range 2 {
		if err := s.WriteRequests(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.CountRequests(ctx, "chunks"); err != nil || got != int64(n) {
		t.Fatalf("stored %d (%v), want %d", got, err, n)
	}
	for i, want := range reqs {
		got, err := s.GetRequest(ctx, "chunks", want.ID)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if want.Body == nil {
			want.Body = []byte{}
		}
		if want.Headers == nil {
			want.Headers = []schema.Header{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}
