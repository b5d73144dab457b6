package clickhouse

import (
	"context"
	"testing"
	"time"

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
}
