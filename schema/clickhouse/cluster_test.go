package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
	"github.com/hookscope/hookscope/schema/schematest"
)

// TestClusterConformance runs the shared storage suite on a replicated
// 18.16 cluster (one shard, two replicas, ZooKeeper): the schema created ON
// CLUSTER, every read and write through the Distributed tables.
func TestClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test: skipped in -short mode")
	}
	c := chtest.StartCluster(t, 1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, c.DSN("hookscope_cluster"), Options{Cluster: chtest.ClusterName})
	if err != nil {
		t.Fatalf("Open on cluster: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	// Every node has the replicated local tables and the Distributed ones.
	for _, n := range c.Nodes {
		for _, table := range []string{"requests_local", "requests", "request_counts_5m_local", "bins", "schema_migrations"} {
			var engine string
			conn, err := Open(ctx, n.DSN("hookscope_cluster"), Options{Cluster: chtest.ClusterName})
			if err != nil {
				t.Fatalf("open node %s: %v", n.Addr, err)
			}
			err = conn.conn.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = 'hookscope_cluster' AND name = ?", table).Scan(&engine)
			conn.Close()
			if err != nil {
				t.Fatalf("node %s: table %s: %v", n.Addr, table, err)
			}
			t.Logf("node %s: %s is %s", n.Addr, table, engine)
		}
	}
	schematest.Run(t, func(*testing.T) schema.Store { return s })

	// MaxAge retention of forward_updates on the cluster: the mutation
	// runs ON CLUSTER on the replicated local table.
	t.Run("ForwardUpdatesRetention", func(t *testing.T) {
		clock := t0.Add(-72 * time.Hour)
		r, err := Open(ctx, c.DSN("hookscope_cluster"), Options{Cluster: chtest.ClusterName, MaxAge: 48 * time.Hour,
			Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		up := func() schema.ForwardUpdate {
			return schema.ForwardUpdate{BinID: "cl-fu", ID: uuid.Must(uuid.NewV7()), Forward: schema.Forward{URL: "u", Mode: "async",
				Status: 200, State: schema.ForwardDelivered, Attempts: []schema.ForwardAttempt{{Status: 500}, {Status: 200}}}}
		}
		old := up()
		if err := r.UpdateForwards(ctx, []schema.ForwardUpdate{old}); err != nil {
			t.Fatal(err)
		}
		clock = t0
		fresh := up()
		if err := r.UpdateForwards(ctx, []schema.ForwardUpdate{fresh}); err != nil {
			t.Fatal(err)
		}
		count := func(id uuid.UUID) int {
			rows, err := r.conn.Query(ctx, "SELECT id FROM forward_updates WHERE bin_id = 'cl-fu'")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var got uuid.UUID
				if err := rows.Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got == id {
					n++
				}
			}
			return n
		}
		// Inserts through the Distributed table reach the shard
		// asynchronously.
		deadline := time.Now().Add(time.Minute)
		for count(old.ID) != 1 || count(fresh.ID) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("before the purge: old %d, fresh %d", count(old.ID), count(fresh.ID))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := r.PurgeExpired(ctx, t0); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(time.Minute)
		for count(old.ID) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the old forward update is still on the cluster a minute after the purge")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := count(fresh.ID); n != 1 {
			t.Fatalf("the fresh forward update: %d rows, want 1", n)
		}
	})
}
