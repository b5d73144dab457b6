package clickhouse

import (
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
