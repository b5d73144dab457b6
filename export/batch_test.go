package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/export"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

// counting is the real store with its reads counted: how many list pages,
// how many batch reads, and the ids and body bytes of each batch.
type counting struct {
	schema.Store
	mu      sync.Mutex
	lists   int
	batches [][]uuid.UUID
	bytes   []int64
}

func (c *counting) ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.Store.ListRequests(ctx, f)
}

func (c *counting) GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*schema.Request, error) {
	got, err := c.Store.GetRequests(ctx, binID, ids)
	var n int64
	for _, r := range got {
		n += r.BodySize
	}
	c.mu.Lock()
	c.batches = append(c.batches, append([]uuid.UUID(nil), ids...))
	c.bytes = append(c.bytes, n)
	c.mu.Unlock()
	return got, err
}

// perRow is the export's read path before batching: every cut row read
// again by itself with GetRequest. Its output is the reference the batched
// export must equal byte for byte.
type perRow struct{ schema.Store }

func (p perRow) GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*schema.Request, error) {
	var out []*schema.Request
	for _, id := range ids {
		r, err := p.GetRequest(ctx, binID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// TestWriteBatchesFullReads: on the real embedded store, an export of 600
// rows in 200-row pages (200 of them longer than the list's preview, some
// of 64 KiB) makes one list read per page and one GetRequests per page,
// never one read per row; each batch stays within its id and byte bounds; every format is byte
// for byte what the per-row path wrote; and a body longer than the preview
// comes out whole.
func TestWriteBatchesFullReads(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	bin := &schema.Bin{ID: "exportbatch", CreatedAt: schema.Truncate(time.Now())}
	if err := store.CreateBin(ctx, bin); err != nil {
		t.Fatal(err)
	}
	const rows = 600
	bodies := map[uuid.UUID][]byte{}
	var reqs []*schema.Request
	for i := 0; i < rows; i++ {
		id := uuid.Must(uuid.NewV7())
		at, _ := schema.IDTime(id) // as capture mints them
		body := []byte(fmt.Sprintf(`{"n":%d}`, i))
		switch {
		case i%3 == 0 && i%60 == 0:
			body = bytes.Repeat([]byte(fmt.Sprintf("%05d,", i)), 64<<10/6) // 64 KiB
		case i%3 == 0:
			body = bytes.Repeat([]byte("x"), schema.PreviewBytes+1+i)
		case i%7 == 0:
			body = bytes.Repeat([]byte("p"), schema.PreviewBytes) // exactly a preview: not read again
		}
		r := &schema.Request{ID: id, BinID: bin.ID, ReceivedAt: schema.Truncate(at.Add(time.Duration(i) * time.Microsecond)),
			Method: "POST", Path: "/p", Headers: []schema.Header{{Name: "X-N", Value: fmt.Sprint(i)}},
			Body: body, BodySize: int64(len(body)), ResponseStatus: 200}
		bodies[id] = body
		reqs = append(reqs, r)
	}
	for i := 0; i < rows; i += 300 {
		if err := store.WriteRequests(ctx, reqs[i:i+300]); err != nil {
			t.Fatal(err)
		}
	}
	meta := export.Meta{BinURL: "https://h.example/h/" + bin.ID, Version: "test"}
	f := schema.Filter{BinID: bin.ID}

	for _, tc := range []struct {
		name        string
		batchBytes  int64
		wantBatches int // GetRequests calls; -1: only bounded
	}{
		{"default budget", 0, 3},          // one per 500-row page
		{"128 KiB budget", 128 << 10, -1}, // the 64 KiB bodies split pages
	} {
		for _, format := range export.Formats {
			var want, got bytes.Buffer
			if _, err := export.Write(ctx, &want, perRow{store}, f, format, meta, export.Options{PageSize: 200}); err != nil {
				t.Fatalf("per-row %s: %v", format, err)
			}
			c := &counting{Store: store}
			n, err := export.Write(ctx, &got, c, f, format, meta, export.Options{PageSize: 200, BatchBytes: tc.batchBytes})
			if err != nil || n != rows {
				t.Fatalf("%s %s: Write = %d, %v; want %d rows", tc.name, format, n, err, rows)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%s %s: the batched export differs from the per-row one (%d vs %d bytes)", tc.name, format, got.Len(), want.Len())
			}
			if c.lists != 3 {
				t.Errorf("%s %s: %d list reads, want 3 (200-row pages)", tc.name, format, c.lists)
			}
			asked := 0
			for i, b := range c.batches {
				asked += len(b)
				if len(b) > schema.MaxGetRequests {
					t.Errorf("%s %s: batch %d asks for %d ids", tc.name, format, i, len(b))
				}
				if budget := tc.batchBytes; budget > 0 && len(b) > 1 && c.bytes[i] > budget {
					t.Errorf("%s %s: batch %d holds %d body bytes, budget %d", tc.name, format, i, c.bytes[i], budget)
				}
			}
			if asked != rows/3 {
				t.Errorf("%s %s: %d ids read again, want the %d longer than the preview", tc.name, format, asked, rows/3)
			}
			if tc.wantBatches >= 0 && len(c.batches) != tc.wantBatches {
				t.Errorf("%s %s: %d GetRequests calls, want %d", tc.name, format, len(c.batches), tc.wantBatches)
			}
			if tc.wantBatches < 0 && (len(c.batches) <= 3 || len(c.batches) >= asked) {
				t.Errorf("%s %s: %d GetRequests calls for %d ids: the budget should split pages, not rows", tc.name, format, len(c.batches), asked)
			}
			if format == export.NDJSON {
				checkWhole(t, got.String(), bodies)
			}
		}
	}
}

// checkWhole: every NDJSON record carries its whole stored body.
func checkWhole(t *testing.T, out string, bodies map[uuid.UUID][]byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(bodies) {
		t.Fatalf("%d records, want %d", len(lines), len(bodies))
	}
	long := 0
	for _, l := range lines {
		var v struct {
			ID   uuid.UUID
			Body struct{ Data string }
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		want := bodies[v.ID]
		if v.Body.Data != string(want) {
			t.Fatalf("record %s: body of %d bytes, want %d", v.ID, len(v.Body.Data), len(want))
		}
		if len(want) == 64<<10/6*6 {
			long++
		}
	}
	if long == 0 {
		t.Fatal("no 64 KiB body in the export")
	}
}

// BenchmarkWriteLongBodies: an NDJSON export of 6 000 rows captured at 100
// a second, a third of them longer than the preview, on the embedded
// store: the cut rows read per row (GetRequest each, the old path) against
// by batches of ids.
func BenchmarkWriteLongBodies(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	bin := &schema.Bin{ID: "bench", CreatedAt: schema.Truncate(time.Now())}
	if err := store.CreateBin(ctx, bin); err != nil {
		b.Fatal(err)
	}
	const rows = 6000
	reqs := make([]*schema.Request, 0, rows)
	base := time.Now().Add(-time.Hour)
	for i := 0; i < rows; i++ {
		// 100 requests a second, ids carrying their time as capture mints
		// them: GetRequest's ±2 s window then holds ~400 rows.
		at := base.Add(time.Duration(i) * 10 * time.Millisecond)
		id := uuid.Must(uuid.NewV7())
		ms := uint64(at.UnixMilli())
		for k := 0; k < 6; k++ {
			id[k] = byte(ms >> (40 - 8*k))
		}
		body := []byte(`{"n":1}`)
		if i%3 == 0 {
			body = bytes.Repeat([]byte("x"), 2048)
		}
		reqs = append(reqs, &schema.Request{ID: id, BinID: bin.ID, ReceivedAt: schema.Truncate(at),
			Method: "POST", Path: "/", Body: body, BodySize: int64(len(body)), ResponseStatus: 200})
	}
	if err := store.WriteRequests(ctx, reqs); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		src  export.Source
	}{{"per-row", perRow{store}}, {"batched", store}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if n, err := export.Write(ctx, io.Discard, bc.src, schema.Filter{BinID: bin.ID}, export.NDJSON, export.Meta{}, export.Options{}); err != nil || n != rows {
					b.Fatalf("Write = %d, %v", n, err)
				}
			}
		})
	}
}
