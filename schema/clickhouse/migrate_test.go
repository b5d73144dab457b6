package clickhouse

import (
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/hookscope/hookscope/schema"
)

func version(major, minor uint64) driver.ServerVersion {
	return driver.ServerVersion{Version: proto.Version{Major: major, Minor: minor}}
}

// TestRenderMigrations checks the DDL each server generation gets. The
// 18.16 DDL also runs for real in every other test; the modern DDL cannot
// run here, so this golden check is its only guard.
func TestRenderMigrations(t *testing.T) {
	ms, err := schema.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		v         driver.ServerVersion
		cluster   string
		want, not []string
		stmts     int
	}{
		{"18.16", version(18, 16), "", []string{"received_at     DateTime ALIAS", "method          String,", "body_tail       String,",
			"sig_status      String,\n    remote_ip       String,\n    requests        UInt64",
			"CREATE MATERIALIZED VIEW IF NOT EXISTS request_latency_5m_mv TO request_latency_5m AS"},
			[]string{"LowCardinality", "CODEC", "DateTime64", "INDEX", "ON CLUSTER", "Replicated", "_local"}, 23},
		{"24.8", version(24, 8), "", []string{
			"method          LowCardinality(String)", "header_names    Array(LowCardinality(String))",
			"received_us     Int64 CODEC(DoubleDelta, ZSTD(1))", "body_tail       String CODEC(ZSTD(3))",
			"DateTime64(6, 'UTC') ALIAS fromUnixTimestamp64Micro(received_us, 'UTC')",
			"INDEX idx_remote_ip remote_ip TYPE bloom_filter(0.01) GRANULARITY 4",
			"sig_status      LowCardinality(String),\n    remote_ip       String,\n    requests        UInt64",
			"ALTER TABLE requests ADD INDEX IF NOT EXISTS idx_search\n    " + sqlSearchExpr + "\n    TYPE ngrambf_v1"}, nil, 24},
		{"18.16 cluster", version(18, 16), "c1", []string{
			"CREATE TABLE IF NOT EXISTS hookscope.requests_local ON CLUSTER c1 (",
			"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/hookscope/requests_local', '{replica}')",
			"CREATE TABLE IF NOT EXISTS hookscope.requests ON CLUSTER c1 AS hookscope.requests_local ENGINE = Distributed(c1, hookscope, requests_local, cityHash64(bin_id))",
			"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/hookscope/bins_local', '{replica}', version)",
			"ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/hookscope/request_counts_5m_local', '{replica}', requests)",
			"ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/hookscope/request_latency_5m_local', '{replica}')",
			"CREATE MATERIALIZED VIEW IF NOT EXISTS hookscope.request_counts_5m_mv ON CLUSTER c1 TO hookscope.request_counts_5m_local AS",
			"FROM hookscope.requests_local",
			"CREATE TABLE IF NOT EXISTS hookscope.stats_rollup_start ON CLUSTER c1 ENGINE = TinyLog AS\nSELECT toInt64(max(received_us)) AS covered_after_us FROM hookscope.requests",
			"ALTER TABLE hookscope.requests_local ON CLUSTER c1 ADD COLUMN aborted UInt8 DEFAULT 0",
			"ALTER TABLE hookscope.bins_local ON CLUSTER c1 ADD COLUMN token_gen UInt64 DEFAULT 0",
			"DROP TABLE IF EXISTS hookscope.bins ON CLUSTER c1\nCREATE TABLE IF NOT EXISTS hookscope.bins ON CLUSTER c1 AS hookscope.bins_local ENGINE = Distributed(c1, hookscope, bins_local, cityHash64(id))"},
			[]string{"= MergeTree", "= ReplacingMergeTree", "LowCardinality"}, 53},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var all []string
			for _, m := range ms {
				stmts, err := render(m, schemaEnv{Features: FeaturesOf(tc.v), Cluster: tc.cluster, Database: "hookscope"})
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range stmts {
					idempotent := strings.HasPrefix(st, "CREATE TABLE IF NOT EXISTS ") ||
						strings.HasPrefix(st, "CREATE MATERIALIZED VIEW IF NOT EXISTS ") ||
						strings.HasPrefix(st, "ALTER TABLE ") && strings.Contains(st, " ADD INDEX IF NOT EXISTS ") ||
						// the runner treats DUPLICATE_COLUMN as done (columnExists)
						(strings.HasPrefix(st, "ALTER TABLE ") && strings.Contains(st, " ADD COLUMN ")) ||
						// a Distributed table dropped to be created again with a new column
						strings.HasPrefix(st, "DROP TABLE IF EXISTS ") && !strings.Contains(st, "_local")
					if !idempotent || strings.Contains(st, ";") {
						t.Errorf("statement of %s is not one idempotent CREATE or ADD COLUMN:\n%s", m.Name, st)
					}
				}
				all = append(all, stmts...)
			}
			ddl := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(ddl, w) {
					t.Errorf("DDL lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(ddl, n) {
					t.Errorf("DDL has %q, which this server does not support", n)
				}
			}
			if len(all) != tc.stmts {
				t.Errorf("%d statements; want %d (11 tables (2 in 0013_replay_jobs, 1 in 0011_forward_state), 2 views and 10 added columns (4 in 0007_event, 2 in 0011_forward_state, 2 in 0012_bin_control); on a cluster a Distributed table for each of its tables, dropped and created again for each added column; on modern servers the search index)", len(all), tc.stmts)
			}
		})
	}
}

func TestFeaturesOf(t *testing.T) {
	tests := []struct {
		v    driver.ServerVersion
		want Features
	}{
		{version(18, 16), Features{}},
		{version(19, 3), Features{LowCardinality: true}},
		{version(19, 10), Features{LowCardinality: true, Codecs: true, TTL: true, JSONExtract: true}},
		{version(20, 3), Features{LowCardinality: true, Codecs: true, TTL: true, SkipIndexes: true, JSONExtract: true}},
		{version(24, 8), Features{LowCardinality: true, Codecs: true, DateTime64: true, TTL: true, SkipIndexes: true, JSONExtract: true}},
	}
	for _, tc := range tests {
		if got := FeaturesOf(tc.v); got != tc.want {
			t.Errorf("FeaturesOf(%s) = %+v; want %+v", tc.v.Version, got, tc.want)
		}
	}
}
