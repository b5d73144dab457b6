package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse"
)

// openClickHouse opens (creating the database and applying migrations) the
// ClickHouse store named by HOOKSCOPE_CLICKHOUSE_URL.
func openClickHouse(ctx context.Context, cfg Config, log *slog.Logger) (schema.Store, error) {
	st, err := clickhouse.Open(ctx, cfg.ClickHouseURL, clickhouse.Options{Logger: log, Cluster: cfg.ClickHouseCluster})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	return st, nil
}
