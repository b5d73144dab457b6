package clickhouse

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// TestClearRemovesForwardUpdates: clearing a bin queues the deletion of
// its forward updates too (ClickHouse applies it in the background), and
// leaves another bin's alone.
func TestClearRemovesForwardUpdates(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := t.Context()
		up := func(bin string) schema.ForwardUpdate {
			return schema.ForwardUpdate{BinID: bin, ID: uuid.Must(uuid.NewV7()), Forward: schema.Forward{URL: "u", Mode: "async", Status: 200,
				State: schema.ForwardDelivered, Attempts: []schema.ForwardAttempt{{Status: 500}, {Status: 200}}}}
		}
		if err := s.UpdateForwards(ctx, []schema.ForwardUpdate{up("fu-a"), up("fu-a"), up("fu-b")}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRequests(ctx, "fu-a"); err != nil {
			t.Fatal(err)
		}
		count := func(bin string) uint64 {
			var n uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM forward_updates WHERE bin_id = ?", bin).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		deadline := time.Now().Add(30 * time.Second)
		for count("fu-a") != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the cleared bin still has %d forward updates", count("fu-a"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n := count("fu-b"); n != 1 {
			t.Errorf("another bin's updates: %d, want 1", n)
		}
	})
}

// TestPurgeDropsOldForwardUpdates: with Options.MaxAge, PurgeExpired
// deletes the forward updates written before the first day of requests it
// keeps (the day partitions of requests go at the same cut), whatever their
// bin, keeps the younger ones, and queues that mutation once per cut: a
// second purge at the same cut queues nothing more.
func TestPurgeDropsOldForwardUpdates(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		ctx := t.Context()
		clock := t0
		s, err := Open(ctx, srv.Database(t), Options{MaxAge: 48 * time.Hour, Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		writeAt := func(at time.Time, bin string) uuid.UUID {
			clock = at
			u := schema.ForwardUpdate{BinID: bin, ID: uuid.Must(uuid.NewV7()), Forward: schema.Forward{URL: "u", Mode: "async", Status: 200,
				State: schema.ForwardDelivered, Attempts: []schema.ForwardAttempt{{Status: 500}, {Status: 200}}}}
			if err := s.UpdateForwards(ctx, []schema.ForwardUpdate{u}); err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		old1 := writeAt(t0.Add(-72*time.Hour), "fr-a")
		old2 := writeAt(t0.Add(-62*time.Hour), "fr-b") // the day before the cut-off's
		edge := writeAt(t0.Add(-50*time.Hour), "fr-a") // before the cut-off, but its day is not wholly past it
		fresh := writeAt(t0, "fr-b")
		clock = t0
		left := func() map[uuid.UUID]bool {
			rows, err := s.conn.Query(ctx, "SELECT id FROM forward_updates")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[uuid.UUID]bool{}
			for rows.Next() {
				var id uuid.UUID
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				out[id] = true
			}
			return out
		}
		if got := left(); len(got) != 4 {
			t.Fatalf("before the purge: %d updates, want 4", len(got))
		}
		mutations := func() uint64 {
			var n uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = 'forward_updates'",
				s.database).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for range 2 {
			if _, err := s.PurgeExpired(ctx, t0); err != nil {
				t.Fatal(err)
			}
		}
		waitGone := func(gone []uuid.UUID, keep ...uuid.UUID) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				got := left()
				if !slices.ContainsFunc(gone, func(id uuid.UUID) bool { return got[id] }) {
					if len(got) != len(keep) || slices.ContainsFunc(keep, func(id uuid.UUID) bool { return !got[id] }) {
						t.Fatalf("after the purge: %v; want only %v", got, keep)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("old forward updates still there: %v", got)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		waitGone([]uuid.UUID{old1, old2}, edge, fresh)
		if n := mutations(); n != 1 {
			t.Errorf("%d mutations of forward_updates after two purges at one cut, want 1", n)
		}
		// A day later the cut passes edge's day.
		day2 := t0.Add(24 * time.Hour)
		if _, err := s.PurgeExpired(ctx, day2); err != nil {
			t.Fatal(err)
		}
		waitGone([]uuid.UUID{edge}, fresh)
		if n := mutations(); n != 2 {
			t.Errorf("%d mutations of forward_updates after the second cut, want 2", n)
		}
		// Nothing is that old any more: another process (which has not
		// queued this cut) counts and queues nothing.
		s2, err := Open(ctx, srv.DSN(s.database), Options{MaxAge: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if _, err := s2.PurgeExpired(ctx, day2); err != nil {
			t.Fatal(err)
		}
		if n := mutations(); n != 2 {
			t.Errorf("%d mutations of forward_updates when nothing was old, want 2", n)
		}
	})
}
