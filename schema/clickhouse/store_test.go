package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// newStoreOn opens a store on a fresh database of srv.
func newStoreOn(t testing.TB, srv *chtest.Server) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, srv.Database(t), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func mkReq(bin string, at time.Time, mut func(*schema.Request)) *schema.Request {
	r := &schema.Request{
		ID:             uuid.Must(uuid.NewV7()),
		BinID:          bin,
		ReceivedAt:     at,
		Method:         "POST",
		Path:           "/",
		ContentType:    "application/json",
		RemoteIP:       "10.0.0.1",
		Body:           []byte(`{"a":1}`),
		BodySize:       7,
		ResponseStatus: 200,
		LatencyUS:      100,
		Signature:      schema.Signature{Status: schema.SigUnchecked},
	}
	if mut != nil {
		mut(r)
	}
	return r
}

func write(t *testing.T, s *Store, reqs ...*schema.Request) {
	t.Helper()
	if err := s.WriteRequests(context.Background(), reqs); err != nil {
		t.Fatalf("WriteRequests: %v", err)
	}
}

func TestOpenMigratesOnceAndRecords(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		dsn := srv.Database(t)
		ctx := context.Background()
		first, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		first.Close()
		ms, _ := schema.LoadMigrations(migrationFS, "migrations")
		if len(first.applied) != len(ms) {
			t.Fatalf("first Open applied %v; want all %d migrations", first.applied, len(ms))
		}
		s, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer s.Close()
		if len(s.applied) != 0 {
			t.Fatalf("second Open applied %v; want nothing", s.applied)
		}
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&n); err != nil || int(n) != len(ms) {
			t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
		}
	})
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "http://127.0.0.1:9000/x", "clickhouse://127.0.0.1:9000/bad-name", "clickhouse:///x"} {
		if _, err := Open(context.Background(), dsn, Options{}); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("Open(%q) = %v; want ErrInvalid", dsn, err)
		}
	}
}

func TestRoundTripEveryField(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		lag := int64(-42)
		big := bytes.Repeat([]byte{0, 0xff, 'A', '\n', 0xc3}, 1000) // binary, invalid UTF-8, > PreviewBytes
		full := mkReq("rt", t0.Add(123456789*time.Nanosecond), func(r *schema.Request) {
			r.Method = "PROPFIND"
			r.Path = "/stripe/events"
			r.Query = "x=1&x=2&y=%00"
			r.Headers = []schema.Header{{Name: "X-Dup", Value: "1"}, {Name: "Content-Type", Value: "application/octet-stream"}, {Name: "X-Dup", Value: "2"}, {Name: "Empty", Value: ""}}
			r.RemoteIP = "2001:db8::1"
			r.ContentType = "application/octet-stream"
			r.Body = big
			r.BodySize = 10 << 20
			r.BodyTruncated = true
			r.ResponseStatus = 413
			r.LatencyUS = 9876
			r.Signature = schema.Signature{Scheme: "stripe", Status: schema.SigInvalid, Reason: "no v1 signature matched"}
			r.DeliveryLagMS = &lag
			r.Forward = &schema.Forward{URL: "http://x/", Mode: "proxy", Status: 502, LatencyUS: 77, Error: "boom"}
		})
		empty := mkReq("rt", t0, func(r *schema.Request) { r.Body = nil; r.BodySize = 0; r.Headers = nil })
		write(t, s, full, empty)

		got, err := s.GetRequest(ctx, "rt", full.ID)
		if err != nil {
			t.Fatalf("GetRequest: %v", err)
		}
		want := *full
		want.ReceivedAt = schema.Truncate(full.ReceivedAt)
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, &want)
		}
		if got, err := s.GetRequest(ctx, "rt", empty.ID); err != nil || got.Body != nil || got.Headers != nil || got.Forward != nil || got.DeliveryLagMS != nil {
			t.Fatalf("empty request = %+v, %v; want nil body, headers, forward, lag", got, err)
		}
		page, err := s.ListRequests(ctx, schema.Filter{BinID: "rt"})
		if err != nil || len(page.Requests) != 2 {
			t.Fatalf("ListRequests = %d requests, %v; want 2", len(page.Requests), err)
		}
		if p := page.Requests[0]; p.ID != full.ID || !bytes.Equal(p.Body, big[:schema.PreviewBytes]) || p.BodySize != full.BodySize {
			t.Fatalf("summary = id %s body %d bytes size %d; want newest with a %d-byte preview", p.ID, len(p.Body), p.BodySize, schema.PreviewBytes)
		}
		if _, err := s.GetRequest(ctx, "other-bin", full.ID); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("GetRequest from another bin = %v; want ErrNotFound", err)
		}
	})
}

func TestWriteRequestsTwiceStoresOnce(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		var reqs []*schema.Request
		for i := range 100 {
			reqs = append(reqs, mkReq("dup", t0.Add(time.Duration(i)*time.Second), nil))
		}
		write(t, s, reqs[:60]...)
		write(t, s, reqs...)                      // a retry of a partly written batch
		write(t, s, reqs[10], reqs[10], reqs[20]) // duplicates inside one call
		n, err := s.CountRequests(ctx, "dup")
		if err != nil || n != 100 {
			t.Fatalf("CountRequests = %d, %v; want 100", n, err)
		}
		var rows, ids uint64
		if err := s.conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM requests WHERE bin_id = 'dup'").Scan(&rows, &ids); err != nil || rows != 100 || ids != 100 {
			t.Fatalf("stored rows %d, distinct ids %d, %v; want 100 of each", rows, ids, err)
		}

		// A small batch whose time range holds many more stored rows than the
		// range scan reads: the check falls back to looking the ids up.
		var many []*schema.Request
		for i := range 3000 {
			many = append(many, mkReq("dup2", t0.Add(time.Duration(i)*time.Millisecond), nil))
		}
		write(t, s, many...)
		small := []*schema.Request{many[0], many[2999], mkReq("dup2", t0.Add(time.Millisecond/2), nil), mkReq("dup2", t0.Add(2*time.Second), nil)}
		exists, err := s.existingIDs(ctx, small)
		if err != nil || len(exists) != 2 || !exists[many[0].ID] || !exists[many[2999].ID] {
			t.Fatalf("existingIDs = %v, %v; want the two stored ids", exists, err)
		}
		write(t, s, small...)
		if err := s.conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM requests WHERE bin_id = 'dup2'").Scan(&rows, &ids); err != nil || rows != 3002 || ids != 3002 {
			t.Fatalf("stored rows %d, distinct ids %d, %v; want 3002 of each", rows, ids, err)
		}
	})
}

func TestListRequestsFiltersAndPaging(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		var reqs []*schema.Request
		for i := range 30 {
			reqs = append(reqs, mkReq("f", t0.Add(time.Duration(i)*time.Minute), func(r *schema.Request) {
				switch i % 3 {
				case 0:
					r.Method, r.ResponseStatus, r.RemoteIP = "GET", 200, "10.0.0.1"
				case 1:
					r.Method, r.ResponseStatus, r.RemoteIP = "POST", 404, "10.0.0.2"
					r.Signature.Status = schema.SigValid
				case 2:
					r.Method, r.ResponseStatus, r.RemoteIP = "PUT", 503, "10.0.0.3"
					r.Signature.Status = schema.SigInvalid
				}
				if i == 7 {
					r.Headers = []schema.Header{{Name: "X-Needle", Value: "x"}}
				}
				if i == 8 {
					r.Body = append(bytes.Repeat([]byte("z"), 300), []byte("HayNEEDLEstack")...)
				}
				if i == 9 {
					r.Query = "q=needle"
				}
				if i == 10 {
					r.Path = "/NeedLe"
				}
				if i == 11 {
					r.Headers = []schema.Header{{Name: "X", Value: "a-nEEdle"}}
				}
			}))
		}
		// Same timestamp, different ids: order falls back to the id.
		same := []*schema.Request{mkReq("f", t0.Add(time.Hour), nil), mkReq("f", t0.Add(time.Hour), nil)}
		write(t, s, append(reqs, same...)...)
		write(t, s, mkReq("other", t0, nil))

		idx := func(is ...int) []uuid.UUID {
			var out []uuid.UUID
			for _, i := range is {
				out = append(out, reqs[i].ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    schema.Filter
			want []uuid.UUID
		}{
			{"method", schema.Filter{Method: "PUT", Until: t0.Add(15 * time.Minute)}, idx(14, 11, 8, 5, 2)},
			{"status exact", schema.Filter{StatusMin: 404, StatusMax: 404, Since: t0.Add(20 * time.Minute), Until: t0.Add(30 * time.Minute)}, idx(28, 25, 22)},
			{"status class", schema.Filter{StatusMin: 500, StatusMax: 599, Since: t0.Add(20 * time.Minute), Until: t0.Add(30 * time.Minute)}, idx(29, 26, 23, 20)},
			{"ip", schema.Filter{IP: "10.0.0.1", Since: t0.Add(20 * time.Minute), Until: t0.Add(30 * time.Minute)}, idx(27, 24, 21)},
			{"signature", schema.Filter{Signature: schema.SigValid, Until: t0.Add(8 * time.Minute)}, idx(7, 4, 1)},
			{"q everywhere", schema.Filter{Q: "neeDLE"}, idx(11, 10, 9, 8, 7)},
			{"since until", schema.Filter{Since: t0.Add(3 * time.Minute), Until: t0.Add(5 * time.Minute)}, idx(4, 3)},
			{"limit", schema.Filter{Limit: 2, Until: t0.Add(30 * time.Minute)}, idx(29, 28)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.BinID = "f"
				page, err := s.ListRequests(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []uuid.UUID
				for _, r := range page.Requests {
					got = append(got, r.ID)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %v\nwant %v", got, tc.want)
				}
			})
		}

		// Page backwards through everything, 7 at a time, then forwards.
		var back []uuid.UUID
		f := schema.Filter{BinID: "f", Limit: 7}
		for {
			page, err := s.ListRequests(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Requests {
				back = append(back, r.ID)
			}
			if page.Next == nil {
				break
			}
			f.Before = page.Next
		}
		if len(back) != 32 {
			t.Fatalf("paged %d requests backwards; want 32", len(back))
		}
		hi, lo := same[0].ID, same[1].ID
		if bytes.Compare(hi[:], lo[:]) < 0 {
			hi, lo = lo, hi
		}
		if back[0] != hi || back[1] != lo || back[31] != reqs[0].ID {
			t.Fatalf("backward order wrong: first %v %v last %v", back[0], back[1], back[31])
		}
		var fwd []uuid.UUID
		f = schema.Filter{BinID: "f", Limit: 5, After: &schema.Cursor{ReceivedAt: t0.Add(-time.Second)}}
		for {
			page, err := s.ListRequests(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Requests {
				fwd = append(fwd, r.ID)
			}
			if page.Next == nil {
				break
			}
			f.After = page.Next
		}
		for i := range back {
			if fwd[len(fwd)-1-i] != back[i] {
				t.Fatalf("forward paging is not the reverse of backward paging at %d", i)
			}
		}
		for _, bad := range []schema.Filter{{}, {BinID: "f", Before: &schema.Cursor{}, After: &schema.Cursor{}}} {
			if _, err := s.ListRequests(ctx, bad); !errors.Is(err, schema.ErrInvalid) {
				t.Errorf("ListRequests(%+v) = %v; want ErrInvalid", bad, err)
			}
		}
	})
}

func TestStats(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		var reqs []*schema.Request
		for i := range 100 {
			reqs = append(reqs, mkReq("st", t0.Add(time.Duration(i)*6*time.Second), func(r *schema.Request) {
				r.LatencyUS = int64(i + 1) // 1..100
				r.RemoteIP = fmt.Sprintf("10.0.0.%d", i%3)
				if i%4 == 0 {
					r.ResponseStatus, r.Method = 500, "GET"
				}
			}))
		}
		write(t, s, reqs...)
		st, err := s.Stats(ctx, schema.StatsQuery{BinID: "st", Since: t0, Until: t0.Add(time.Hour), Step: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != 100 || st.ByStatus["200"] != 75 || st.ByStatus["500"] != 25 || st.ByMethod["GET"] != 25 || st.ByMethod["POST"] != 75 || st.BySignature["unchecked"] != 100 {
			t.Fatalf("breakdowns wrong: %+v", st)
		}
		if p := st.LatencyUS; p.P50 < 45 || p.P50 > 55 || p.P95 < 90 || p.P95 > 100 || p.P99 < 95 || p.P99 > 100 {
			t.Fatalf("percentiles %+v; want about 50/95/99", p)
		}
		// 100 requests every 6 s from 12:00:00: 50 per 5-minute bucket.
		want := []schema.SeriesPoint{{T: t0, Count: 50}, {T: t0.Add(5 * time.Minute), Count: 50}}
		if len(st.Series) != 2 || !st.Series[0].T.Equal(want[0].T) || st.Series[0].Count != 50 || !st.Series[1].T.Equal(want[1].T) || st.Series[1].Count != 50 {
			t.Fatalf("series %+v; want %+v", st.Series, want)
		}
		if got := st.TopSenders; len(got) != 3 || got[0] != (schema.SenderCount{IP: "10.0.0.0", Count: 34}) || got[1] != (schema.SenderCount{IP: "10.0.0.1", Count: 33}) || got[2] != (schema.SenderCount{IP: "10.0.0.2", Count: 33}) {
			t.Fatalf("top senders %+v", got)
		}
		empty, err := s.Stats(ctx, schema.StatsQuery{BinID: "none", Step: time.Minute})
		if err != nil || empty.Total != 0 || empty.ByStatus == nil || empty.Series == nil || empty.TopSenders == nil {
			t.Fatalf("empty stats = %+v, %v; want zero with non-nil maps and slices", empty, err)
		}
	})
}

func TestDeleteTrimAndRecreate(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		if err := s.CreateBin(ctx, &schema.Bin{ID: "d", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		var reqs []*schema.Request
		for i := range 20 {
			reqs = append(reqs, mkReq("d", t0.Add(time.Duration(i)*time.Second), nil))
		}
		write(t, s, reqs...)
		write(t, s, mkReq("keep", t0, nil))

		removed, err := s.TrimRequests(ctx, "d", 5)
		if err != nil || removed != 15 {
			t.Fatalf("TrimRequests = %d, %v; want 15", removed, err)
		}
		page, err := s.ListRequests(ctx, schema.Filter{BinID: "d"})
		if err != nil || len(page.Requests) != 5 || page.Requests[4].ID != reqs[15].ID {
			t.Fatalf("after trim: %d requests, %v; want the newest 5", len(page.Requests), err)
		}
		// A request written after the trim with an old timestamp is kept.
		late := mkReq("d", t0.Add(-time.Hour), nil)
		write(t, s, late)
		if n, _ := s.CountRequests(ctx, "d"); n != 6 {
			t.Fatalf("count after late write = %d; want 6", n)
		}
		if _, err := s.GetRequest(ctx, "d", reqs[0].ID); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("trimmed request still readable: %v", err)
		}

		if err := s.DeleteRequests(ctx, "d"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountRequests(ctx, "d"); n != 0 {
			t.Fatalf("count after DeleteRequests = %d; want 0", n)
		}
		if n, _ := s.CountRequests(ctx, "keep"); n != 1 {
			t.Fatalf("other bin lost requests: %d", n)
		}
		write(t, s, mkReq("d", t0, nil))
		if err := s.DeleteBin(ctx, "d"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetBin(ctx, "d"); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("GetBin after delete = %v; want ErrNotFound", err)
		}
		if err := s.DeleteBin(ctx, "d"); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("second DeleteBin = %v; want ErrNotFound", err)
		}
		if err := s.CreateBin(ctx, &schema.Bin{ID: "d", CreatedAt: t0}); err != nil {
			t.Fatalf("re-create deleted bin: %v", err)
		}
		if n, _ := s.CountRequests(ctx, "d"); n != 0 {
			t.Fatalf("re-created bin shows %d old requests", n)
		}
		// The mutation eventually removes the rows from disk.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM requests WHERE bin_id = 'd'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d deleted rows still on disk after 30 s", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestBins(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		exp := t0.Add(24 * time.Hour)
		a := &schema.Bin{ID: "a", Name: "first", CreatedAt: t0, ExpiresAt: &exp,
			Settings: schema.BinSettings{Signature: &schema.SignatureConfig{Scheme: "stripe", Secret: "whsec_x"}}}
		b := &schema.Bin{ID: "b", Name: "second", CreatedAt: t0.Add(time.Second), Private: true}
		for _, x := range []*schema.Bin{a, b} {
			if err := s.CreateBin(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateBin(ctx, &schema.Bin{ID: "a"}); !errors.Is(err, schema.ErrConflict) {
			t.Fatalf("duplicate CreateBin = %v; want ErrConflict", err)
		}
		got, err := s.GetBin(ctx, "a")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("GetBin = %+v, %v; want %+v", got, err, a)
		}
		upd := *a
		upd.Name, upd.ExpiresAt, upd.CreatedAt = "renamed", nil, t0.Add(time.Hour)
		if err := s.UpdateBin(ctx, &upd); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetBin(ctx, "a")
		if got.Name != "renamed" || got.ExpiresAt != nil || !got.CreatedAt.Equal(t0) {
			t.Fatalf("after update %+v; want renamed, no expiry, created_at kept", got)
		}
		if err := s.UpdateBin(ctx, &schema.Bin{ID: "missing"}); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("UpdateBin(missing) = %v; want ErrNotFound", err)
		}
		list, err := s.ListBins(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "b" || list[1].ID != "a" {
			t.Fatalf("ListBins = %v, %v; want b, a", list, err)
		}

		// Expiry: c expires, d never does.
		past := t0.Add(-time.Minute)
		if err := s.CreateBin(ctx, &schema.Bin{ID: "c", CreatedAt: t0, ExpiresAt: &past}); err != nil {
			t.Fatal(err)
		}
		write(t, s, mkReq("c", t0, nil), mkReq("b", t0, nil))
		n, err := s.PurgeExpired(ctx, t0)
		if err != nil || n != 1 {
			t.Fatalf("PurgeExpired = %d, %v; want 1", n, err)
		}
		if _, err := s.GetBin(ctx, "c"); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("expired bin still there: %v", err)
		}
		if c, _ := s.CountRequests(ctx, "c"); c != 0 {
			t.Fatalf("expired bin keeps %d requests", c)
		}
		if c, _ := s.CountRequests(ctx, "b"); c != 1 {
			t.Fatalf("live bin has %d requests; want 1", c)
		}
	})
}

func TestPurgeDropsOldPartitions(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		ctx := context.Background()
		now := t0
		s, err := Open(ctx, srv.Database(t), Options{MaxAge: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		old := mkReq("p", now.Add(-72*time.Hour), nil)
		edge := mkReq("p", now.Add(-36*time.Hour), nil) // its day is not wholly past the cut-off
		fresh := mkReq("p", now, nil)
		write(t, s, old, edge, fresh)
		if _, err := s.PurgeExpired(ctx, now); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListRequests(ctx, schema.Filter{BinID: "p"})
		if err != nil || len(page.Requests) != 2 || page.Requests[0].ID != fresh.ID || page.Requests[1].ID != edge.ID {
			t.Fatalf("after partition drop: %d requests, %v; want fresh and edge", len(page.Requests), err)
		}
		// The stats rollups lose the day with the requests.
		st, err := s.Stats(ctx, schema.StatsQuery{BinID: "p", Since: now.Add(-96 * time.Hour), Until: now.Add(time.Hour), Step: time.Hour})
		if err != nil || st.Total != 2 {
			t.Fatalf("stats after partition drop: total %d, %v; want 2", st.Total, err)
		}
	})
}

func TestAlerts(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		r1 := &schema.AlertRule{ID: "r1", BinID: "b", Doc: []byte(`{"kind":"failure_spike"}`), CreatedAt: t0, UpdatedAt: t0}
		r2 := &schema.AlertRule{ID: "r2", Doc: []byte(`{"kind":"x"}`), CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0}
		for _, r := range []*schema.AlertRule{r1, r2} {
			if err := s.PutRule(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		r1b := *r1
		r1b.Doc = []byte(`{"kind":"latency_spike"}`)
		if err := s.PutRule(ctx, &r1b); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRule(ctx, "r1")
		if err != nil || !reflect.DeepEqual(got, &r1b) {
			t.Fatalf("GetRule = %+v, %v; want %+v", got, err, &r1b)
		}
		list, err := s.ListRules(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "r2" {
			t.Fatalf("ListRules = %v, %v; want r2, r1", list, err)
		}
		if err := s.DeleteRule(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRule(ctx, "r2"); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("second DeleteRule = %v; want ErrNotFound", err)
		}
		if _, err := s.GetRule(ctx, "r2"); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("GetRule(deleted) = %v; want ErrNotFound", err)
		}

		var evs []*schema.AlertEvent
		for i := range 5 {
			e := &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: "r1", BinID: "b", State: "firing", At: t0.Add(time.Duration(i) * time.Second), Doc: []byte(`{}`)}
			if i%2 == 1 {
				e.RuleID = "r2"
			}
			evs = append(evs, e)
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AppendEvent(ctx, evs[0]); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListEvents(ctx, schema.EventFilter{})
		if err != nil || len(all) != 5 || all[0].ID != evs[4].ID || !reflect.DeepEqual(all[4], evs[0]) {
			t.Fatalf("ListEvents = %d events, %v; want 5 newest first, stored once", len(all), err)
		}
		byRule, _ := s.ListEvents(ctx, schema.EventFilter{RuleID: "r2"})
		before, _ := s.ListEvents(ctx, schema.EventFilter{Before: &evs[2].ID, Limit: 1})
		if len(byRule) != 2 || len(before) != 1 || before[0].ID != evs[1].ID {
			t.Fatalf("filtered events: by rule %d, before %v", len(byRule), before)
		}
	})
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := Open(ctx, "clickhouse://127.0.0.1:1/x", Options{DialTimeout: time.Second})
	if !errors.Is(err, schema.ErrUnavailable) {
		t.Fatalf("Open on a closed port = %v; want ErrUnavailable", err)
	}
}

// TestKilledServerWritesFailThenRetryStoresOnce kills the server, checks
// that writes fail with ErrUnavailable, restarts it, and replays: every
// request is stored exactly once.
func TestKilledServerWritesFailThenRetryStoresOnce(t *testing.T) {
	chtest.EachOwn(t, func(t *testing.T, srv *chtest.Server) {
		ctx := context.Background()
		s, err := Open(ctx, srv.DSN("fault"), Options{DialTimeout: time.Second, ReadTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var before, during []*schema.Request
		for i := range 500 {
			before = append(before, mkReq("k", t0.Add(time.Duration(i)*time.Millisecond), nil))
			during = append(during, mkReq("k", t0.Add(time.Second+time.Duration(i)*time.Millisecond), nil))
		}
		write(t, s, before...)
		srv.Kill()
		if err := s.WriteRequests(ctx, during); !errors.Is(err, schema.ErrUnavailable) {
			t.Fatalf("write to a killed server = %v; want ErrUnavailable", err)
		}
		if _, err := s.ListRequests(ctx, schema.Filter{BinID: "k"}); !errors.Is(err, schema.ErrUnavailable) {
			t.Fatalf("read from a killed server = %v; want ErrUnavailable", err)
		}
		srv.Restart(t)
		// The caller replays everything it was not told is durable, and more.
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := s.WriteRequests(ctx, append(append([]*schema.Request{}, before...), during...))
			if err == nil {
				break
			}
			if !errors.Is(err, schema.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("write after restart: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var rows, ids uint64
		if err := s.conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM requests WHERE bin_id = 'k'").Scan(&rows, &ids); err != nil || rows != 1000 || ids != 1000 {
			t.Fatalf("after replay: %d rows, %d ids, %v; want 1000 each", rows, ids, err)
		}
	})
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, db, user, pass, addr string
	}{
		{"clickhouse://127.0.0.1:9000/hookscope", "hookscope", "", "", "127.0.0.1:9000"},
		{"clickhouse://u:p%40ss@clickhouse:9000/hs_1?dial_timeout=2s", "hs_1", "u", "p@ss", "clickhouse:9000"},
		{"clickhouse://127.0.0.1:9000", "hookscope", "", "", "127.0.0.1:9000"},
	}
	for _, tc := range tests {
		co, db, err := parseDSN(tc.dsn, Options{DialTimeout: time.Second})
		if err != nil {
			t.Errorf("parseDSN(%q): %v", tc.dsn, err)
			continue
		}
		if db != tc.db || co.Auth.Username != tc.user || co.Auth.Password != tc.pass || len(co.Addr) != 1 || co.Addr[0] != tc.addr {
			t.Errorf("parseDSN(%q) = db %q user %q pass %q addr %v; want %q %q %q %q", tc.dsn, db, co.Auth.Username, co.Auth.Password, co.Addr, tc.db, tc.user, tc.pass, tc.addr)
		}
	}
}

// TestListRequestsAcrossProbeWindows pages through rows far older and newer
// than now, so every probe window of pageKeys is exercised, in both
// directions.
func TestListRequestsAcrossProbeWindows(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		now := time.Now().UTC()
		ats := []time.Time{
			time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), now.Add(-40 * 24 * time.Hour), now.Add(-3 * 24 * time.Hour),
			now.Add(-2 * time.Hour), now.Add(-time.Minute), now.Add(time.Hour), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		var want []uuid.UUID // newest first
		for i := len(ats) - 1; i >= 0; i-- {
			r := mkReq("probe", ats[i], nil)
			write(t, s, r)
			want = append(want, r.ID)
		}
		for _, limit := range []int{1, 2, 3, 50} {
			var got []uuid.UUID
			f := schema.Filter{BinID: "probe", Limit: limit}
			for {
				page, err := s.ListRequests(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Requests {
					got = append(got, r.ID)
				}
				if page.Next == nil {
					break
				}
				f.Before = page.Next
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("limit %d backwards: got %v\nwant %v", limit, got, want)
			}
			got = nil
			f = schema.Filter{BinID: "probe", Limit: limit, After: &schema.Cursor{ReceivedAt: time.Unix(0, 0)}}
			for {
				page, err := s.ListRequests(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Requests {
					got = append([]uuid.UUID{r.ID}, got...)
				}
				if page.Next == nil {
					break
				}
				f.After = page.Next
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("limit %d forwards: got %v\nwant reversed %v", limit, got, want)
			}
		}
	})
}

// TestQFindsBodyMatchesAcrossTheCut: the body is stored as head (the first
// PreviewBytes) and tail; a q= match must be found wherever it lies.
func TestQFindsBodyMatchesAcrossTheCut(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		needle := "NeedLe"
		long := strings.Repeat("0123456789", 30) // longer than the head
		filler := func(n int) []byte { return bytes.Repeat([]byte{'.'}, n) }
		tests := []struct {
			name  string
			body  []byte
			q     string
			match bool
		}{
			{"in head", append(append(filler(10), needle...), filler(500)...), "needle", true},
			{"in tail", append(append(filler(400), needle...), filler(10)...), "NEEDLE", true},
			{"at body end", append(filler(600), needle...), "needle", true},
			{"ends at cut", append(append(filler(schema.PreviewBytes-len(needle)), needle...), filler(10)...), "needle", true},
			{"starts at cut", append(append(filler(schema.PreviewBytes), needle...), filler(10)...), "needle", true},
			{"straddles by 1", append(append(filler(schema.PreviewBytes-1), needle...), filler(10)...), "needle", true},
			{"straddles by 5", append(append(filler(schema.PreviewBytes-5), needle...), filler(10)...), "needle", true},
			{"head only, no tail", append(filler(schema.PreviewBytes-len(needle)), needle...), "needle", true},
			{"longer than head", append(filler(100), long...), long, true},
			{"split, not adjacent", append(append(append(filler(schema.PreviewBytes-3), "nee"...), '.'), "dle"...), "needle", false},
			{"absent", filler(1000), "needle", false},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				bin := fmt.Sprintf("cut%d", i)
				r := mkReq(bin, t0, func(r *schema.Request) { r.Body, r.BodySize = tc.body, int64(len(tc.body)) })
				write(t, s, r)
				page, err := s.ListRequests(ctx, schema.Filter{BinID: bin, Q: tc.q})
				if err != nil {
					t.Fatal(err)
				}
				if got := len(page.Requests) == 1; got != tc.match {
					t.Fatalf("match = %v; want %v", got, tc.match)
				}
			})
		}
	})
}

// TestRepeatedTrimsStayCheap trims a growing bin many times, with late
// requests (old timestamps) in between: the answers stay right and the
// read filter keeps one trim condition instead of one per call.
func TestRepeatedTrimsStayCheap(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := context.Background()
		var all []*schema.Request
		for round := range 12 {
			batch := []*schema.Request{
				mkReq("trims", t0.Add(time.Duration(round)*time.Minute), nil),
				mkReq("trims", t0.Add(time.Duration(round)*time.Minute+time.Second), nil),
			}
			if round%4 == 3 { // a late request, older than everything kept
				batch = append(batch, mkReq("trims", t0.Add(-time.Hour), nil))
			}
			write(t, s, batch...)
			all = append(all, batch...)
			if _, err := s.TrimRequests(ctx, "trims", 3); err != nil {
				t.Fatal(err)
			}
			page, err := s.ListRequests(ctx, schema.Filter{BinID: "trims"})
			if err != nil {
				t.Fatal(err)
			}
			want := []uuid.UUID{batch[1].ID, batch[0].ID}
			if round > 0 {
				want = append(want, all[len(all)-len(batch)-1].ID)
				if round%4 == 0 { // the previous round ended with a late request
					want[2] = all[len(all)-len(batch)-2].ID
				}
			}
			var got []uuid.UUID
			for _, r := range page.Requests {
				got = append(got, r.ID)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: got %v\nwant %v", round, got, want)
			}
		}
		q := &query{}
		if err := s.tombstoneFilter(ctx, q, "trims"); err != nil {
			t.Fatal(err)
		}
		if len(q.where) != 1 {
			t.Fatalf("%d tombstone conditions after 12 monotonic trims; want 1:\n%s", len(q.where), q.sql())
		}
	})
}

// TestTrimMutationThreshold: below TrimMutationMinRows a trim only hides
// rows; at or above it, it also queues the mutation that removes them.
func TestTrimMutationThreshold(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		ctx := context.Background()
		s, err := Open(ctx, srv.Database(t), Options{TrimMutationMinRows: 15})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		onDisk := func() uint64 {
			var n uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM requests WHERE bin_id = 'tm'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		var reqs []*schema.Request
		for i := range 30 {
			reqs = append(reqs, mkReq("tm", t0.Add(time.Duration(i)*time.Second), nil))
		}
		write(t, s, reqs...)
		if n, err := s.TrimRequests(ctx, "tm", 20); err != nil || n != 10 {
			t.Fatalf("first trim = %d, %v; want 10", n, err)
		}
		if c, _ := s.CountRequests(ctx, "tm"); c != 20 || onDisk() != 30 {
			t.Fatalf("after a small trim: %d visible, %d on disk; want 20 visible, 30 on disk (no mutation)", c, onDisk())
		}
		if n, err := s.TrimRequests(ctx, "tm", 10); err != nil || n != 10 {
			t.Fatalf("second trim = %d, %v; want 10", n, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for onDisk() != 10 {
			if time.Now().After(deadline) {
				t.Fatalf("%d rows on disk 30 s after a trim over the threshold; want 10", onDisk())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if c, _ := s.CountRequests(ctx, "tm"); c != 10 {
			t.Fatalf("visible after mutation = %d; want 10", c)
		}
	})
}

// scanOnly makes s answer Stats from requests alone, as before the rollups:
// the reference the rollup answers are compared with.
func scanOnly(t *testing.T, s *Store) {
	saved := s.rollupAfter
	s.rollupAfter = math.MaxInt64 - rollupUS
	t.Cleanup(func() { s.rollupAfter = saved })
}

// checkSameStats compares a rollup answer with the scan's: counts exactly,
// percentiles within the observed range (both are sampled above 8192).
func checkSameStats(t *testing.T, what string, got, want *schema.Stats) {
	t.Helper()
	if got.Total != want.Total || !maps.Equal(got.ByStatus, want.ByStatus) || !maps.Equal(got.ByMethod, want.ByMethod) ||
		!maps.Equal(got.BySignature, want.BySignature) || !slices.Equal(got.TopSenders, want.TopSenders) {
		t.Errorf("%s: stats\n%+v\nwant (scan)\n%+v", what, got, want)
	}
	if len(got.Series) != len(want.Series) {
		t.Errorf("%s: %d series points; scan has %d", what, len(got.Series), len(want.Series))
		return
	}
	for i := range want.Series {
		if !got.Series[i].T.Equal(want.Series[i].T) || got.Series[i].Count != want.Series[i].Count ||
			got.Series[i].P95LatencyUS != want.Series[i].P95LatencyUS {
			t.Errorf("%s: series[%d] = %+v; scan %+v", what, i, got.Series[i], want.Series[i])
		}
	}
	if got.LatencyUS != want.LatencyUS {
		t.Errorf("%s: percentiles %+v; scan %+v", what, got.LatencyUS, want.LatencyUS)
	}
}

// TestStatsRollupsMatchScan checks that Stats answers the same from the
// rollups (whole 5-minute buckets) as from requests alone, for unaligned
// ranges and after trims, deletions and a re-used bin.
func TestStatsRollupsMatchScan(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		scan := newStoreOn(t, srv) // same writes, same store code, answers from requests only
		scanOnly(t, scan)
		ctx := context.Background()
		both := func(reqs ...*schema.Request) { write(t, s, reqs...); write(t, scan, reqs...) }
		// 40 minutes, one request every 7 s, mixed fields; under 8192 values,
		// so percentiles are exact on both paths.
		var reqs []*schema.Request
		for i := range 40 * 60 / 7 {
			reqs = append(reqs, mkReq("r", t0.Add(time.Duration(i)*7*time.Second+123*time.Microsecond), func(r *schema.Request) {
				r.LatencyUS = int64(1 + (i*37)%1000)
				r.ResponseStatus = []int{200, 200, 500, 404}[i%4]
				r.Method = []string{"POST", "GET", "PUT"}[i%3]
				r.Signature.Status = []schema.SignatureStatus{schema.SigValid, schema.SigInvalid}[i%2]
				r.RemoteIP = fmt.Sprintf("10.9.0.%d", i%13)
			}))
		}
		both(reqs...)
		queries := []schema.StatsQuery{
			{BinID: "r", Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour), Step: 5 * time.Minute},
			{BinID: "r", Since: t0.Add(2*time.Minute + 30*time.Second), Until: t0.Add(27*time.Minute + 10*time.Second), Step: 5 * time.Minute},
			{BinID: "r", Since: t0.Add(4 * time.Minute), Until: t0.Add(31 * time.Minute), Step: 15 * time.Minute},
			{BinID: "r", Until: t0.Add(33 * time.Minute), Step: time.Hour},
		}
		compare := func(stage string) {
			t.Helper()
			for _, q := range queries {
				got, err := s.Stats(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := scan.Stats(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				checkSameStats(t, fmt.Sprintf("%s, %v..%v step %v", stage, q.Since, q.Until, q.Step), got, want)
			}
		}
		compare("fresh")
		if lo, hi := s.rollupRange(queries[0], nil); hi-lo != 2*time.Hour.Microseconds() {
			t.Fatalf("rollupRange = %d..%d; want the whole 2 h range", lo, hi)
		}

		for _, st := range []*Store{s, scan} {
			if _, err := st.TrimRequests(ctx, "r", 200); err != nil {
				t.Fatal(err)
			}
		}
		compare("trimmed")
		// A late request received before the trim's cut is visible.
		both(mkReq("r", t0.Add(time.Minute), nil))
		compare("late write after trim")

		for _, st := range []*Store{s, scan} {
			if err := st.DeleteRequests(ctx, "r"); err != nil {
				t.Fatal(err)
			}
		}
		compare("deleted")
		if got, _ := s.Stats(ctx, queries[0]); got.Total != 0 {
			t.Fatalf("deleted bin stats total %d; want 0", got.Total)
		}
		both(mkReq("r", t0.Add(10*time.Minute), nil), mkReq("r", t0.Add(20*time.Minute), nil))
		compare("re-used")
	})
}

// TestStatsRollupsAfterUpgrade: requests stored before migration 0004 are
// not in the rollups; Stats still counts them.
func TestStatsRollupsAfterUpgrade(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		dsn := srv.Database(t)
		ctx := context.Background()
		s, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Back to the schema before 0004, then requests, then 0004 again.
		for _, table := range []string{"request_counts_5m_mv", "request_latency_5m_mv", "stats_rollup_start"} {
			if err := s.conn.Exec(ctx, "DROP TABLE "+table); err != nil {
				t.Fatal(err)
			}
		}
		var old []*schema.Request
		for i := range 30 {
			old = append(old, mkReq("u", t0.Add(time.Duration(i)*time.Minute), nil))
		}
		write(t, s, old...)
		ms, _ := schema.LoadMigrations(migrationFS, "migrations")
		stmts, err := render(ms[3], s.env)
		if err != nil || ms[3].Version != 4 {
			t.Fatalf("migration 4: %v", err)
		}
		for _, st := range stmts {
			if err := s.conn.Exec(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		s2, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if want := schema.Truncate(old[29].ReceivedAt).UnixMicro(); s2.rollupAfter != want {
			t.Fatalf("rollupAfter = %d; want the newest old request %d", s2.rollupAfter, want)
		}
		write(t, s2, mkReq("u", t0.Add(2*time.Hour), nil), mkReq("u", t0.Add(3*time.Hour), nil))
		st, err := s2.Stats(ctx, schema.StatsQuery{BinID: "u", Since: t0.Add(-time.Hour), Until: t0.Add(4 * time.Hour), Step: 5 * time.Minute})
		if err != nil || st.Total != 32 || len(st.Series) != 8 {
			t.Fatalf("stats after upgrade: total %d, %d points, %v; want 32 requests in 8 buckets", st.Total, len(st.Series), err)
		}
	})
}

// TestSearchIndexSkipsGranules checks, on the modern server, that q= uses
// the n-gram index of migration 0010: EXPLAIN of the search's WHERE clause
// shows idx_search dropping the granules of parts without the needle. (On
// 18.16 there is no index; the q= tests above prove the answers on both.)
func TestSearchIndexSkipsGranules(t *testing.T) {
	srv := chtest.StartKind(t, chtest.Modern)
	s := newStoreOn(t, srv)
	if !s.searchIndex {
		t.Fatalf("store on %s did not find idx_search", s.version)
	}
	for batch := range 4 {
		var reqs []*schema.Request
		for i := range 2048 {
			reqs = append(reqs, mkReq("idx", t0.Add(time.Duration(batch*2048+i)*time.Millisecond), func(r *schema.Request) {
				r.Body = []byte(fmt.Sprintf(`{"event":"ordinary","n":%d}`, i))
				if batch == 2 && i == 7 {
					r.Body = []byte(`{"event":"Rare_Needle_Event"}`)
				}
			}))
		}
		write(t, s, reqs...)
	}
	ctx := context.Background()
	f := schema.Filter{BinID: "idx", Q: "rare_needle"}
	p, err := s.ListRequests(ctx, f)
	if err != nil || len(p.Requests) != 1 {
		t.Fatalf("q=rare_needle: %d requests, %v; want 1", len(p.Requests), err)
	}
	q, err := s.binQuery(ctx, &f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.conn.Query(ctx, "EXPLAIN indexes = 1 SELECT id FROM requests WHERE "+q.sql(), q.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, strings.TrimSpace(line))
	}
	// The plan lists each index, then its Parts and Granules (kept/total).
	for i, l := range plan {
		if l != "Name: idx_search" {
			continue
		}
		for _, g := range plan[i+1:] {
			if kept, ok := strings.CutPrefix(g, "Granules: "); ok {
				var a, b int
				if _, err := fmt.Sscanf(kept, "%d/%d", &a, &b); err != nil || a == 0 || a >= b {
					t.Fatalf("idx_search kept granules %q; want fewer than all, more than none\n%s", kept, strings.Join(plan, "\n"))
				}
				t.Logf("idx_search kept %s granules", kept)
				return
			}
		}
	}
	t.Fatalf("idx_search not in the plan:\n%s", strings.Join(plan, "\n"))
}

// TestQWildcardsAreLiteral: q= is a plain substring on both servers; LIKE's
// % and _ in the needle (the index condition on modern servers) match only
// themselves, and case folds for ASCII only, as positionCaseInsensitive does.
func TestQWildcardsAreLiteral(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		bodies := []string{`{"deal":"50%_OFF today"}`, `{"deal":"50xyOFF today"}`, `{"name":"ÉCOLE"}`}
		var reqs []*schema.Request
		for i, b := range bodies {
			reqs = append(reqs, mkReq("wild", t0.Add(time.Duration(i)*time.Second), func(r *schema.Request) { r.Body = []byte(b) }))
		}
		write(t, s, reqs...)
		for _, tc := range []struct {
			q    string
			want int
		}{{"50%_off", 1}, {"0%_o", 1}, {`50\%`, 0}, {"xyoff", 1}, {"ÉCOLE", 1}, {"éCOLE", 0}, {"école", 0}} {
			p, err := s.ListRequests(context.Background(), schema.Filter{BinID: "wild", Q: tc.q})
			if err != nil || len(p.Requests) != tc.want {
				t.Errorf("q=%q: %d requests, %v; want %d", tc.q, len(p.Requests), err, tc.want)
			}
		}
	})
}
